"""``python -m tscl`` runs the command line (Ctrl-C while it is still importing: one line, exit code 130)."""

try:
    from tscl.cli import console
except KeyboardInterrupt:
    import sys

    print("error: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

console()
