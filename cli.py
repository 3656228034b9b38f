"""Thin launcher so ``python cli.py ...`` works from a checkout without installing the console script."""

from tscl.cli import main

if __name__ == "__main__":
    main()
