"""One registry shape for every pluggable kind: encoders, objectives, losses, view makers, tasks, heads.

A component is a factory (a class or a function) plus its **options class**: a pydantic model whose fields
carry the default, the constraint and a one-line help of every hyper-parameter. The factory declares it as
its ``Options`` attribute; a factory without one (a quick plug-in) gets an options class derived from its
keyword parameters. Each kind has one :class:`Registry`:

* ``register(name, factory)`` adds a component at run time;
* ``names()`` lists the built-in, registered and installed ones;
* ``create(name, *runtime, **options)`` validates ``options`` against the options class (a
  :class:`~tscl.errors.ConfigError` names the bad key and lists the valid ones) and calls
  ``factory(*runtime, **validated)``. ``runtime`` holds what comes from the data or the run, not from the
  user (an encoder's input channels, an objective's :class:`~tscl.objectives.base.Setup`).

Built-ins are named ``"module:attribute"``, or found in a package: each public module of it (no leading
underscore) is one component of the same name, its factory the module's ``COMPONENT``, so a new built-in is
one new module. Either way modules are imported on first use: listing names or ``--help`` imports nothing
heavy. Third-party components are found through Python entry points
(``[project.entry-points."tscl.losses"] l2views = "my_pkg.loss:L2Views"``), in the group of each kind.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from tscl.errors import ConfigError

__all__ = ["Entry", "Options", "Registry", "check_options", "describe_options", "option_table"]

T = TypeVar("T")
# Names of registered components: written in flags, config files and run directory names.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class Options(BaseModel):
    """Base of every options class: typed, strict (no silent ``"1"`` -> 1), unknown keys refused, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_default=True)


OptionsT = TypeVar("OptionsT", bound=Options)


class _OpenOptions(Options):
    """Options of a plug-in factory that takes ``**kwargs``: its own parameters typed, anything else passed."""

    model_config = ConfigDict(extra="allow")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered component: its name, factory, options class, one-line summary and where it came from."""

    name: str
    factory: Callable[..., T]
    options: type[Options]
    summary: str
    origin: str
    command: str  # the CLI group that shows it: `tscl <command> show <name>`

    def validate(self, values: Mapping[str, Any], prefix: str) -> Options:
        """``values`` checked against the options class; ConfigError naming ``prefix.key`` otherwise."""
        return check_options(self.options, values, prefix, self.name, f"tscl {self.command} show {self.name}")

    def defaults(self) -> dict[str, Any]:
        """Every option with its default value."""
        return self.options().model_dump()


class Registry(Generic[T]):
    """Name -> component for one kind (see the module docstring).

    Args:
        kind: Singular noun used in messages ("objective", "loss", ...).
        group: Entry-point group of third-party components ("tscl.objectives"); its last part is the command
            group that lists and shows them (``tscl objectives list``).
        builtins: Built-in names -> ``"module:attribute"`` of their factory (imported on first use).
        package: A package whose public modules are built-in components (name = module name, factory =
            its ``COMPONENT``), in addition to ``builtins``.
        runtime: Names of the factory's leading parameters that are not options (skipped when an options
            class is derived from a plug-in's signature).
        section: The run configuration's section naming this kind (default: ``kind``); messages name
            options as ``section.key``.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: Mapping[str, str] | None = None,
        runtime: tuple[str, ...] = (),
        section: str | None = None,
        package: str | None = None,
    ) -> None:
        self.kind = kind
        self.section = section or kind
        self.group = group
        self.command = group.rpartition(".")[2]  # the CLI group that lists them: `tscl <command> list`
        self._builtins = {**_package_modules(package), **(builtins or {})}
        self._runtime = runtime
        self._registered: dict[str, Entry[T]] = {}
        self._loaded: dict[str, Entry[T]] = {}
        self._installed: dict[str, Any] | None = None

    # -- adding and listing -----------------------------------------------------------------------------
    def register(
        self, name: str, factory: Callable[..., T], options: type[Options] | None = None, *, replace: bool = False
    ) -> None:
        """Add ``factory`` as ``name`` (``options``: its options class, default ``factory.Options``)."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(
                f"a {self.kind} name must be letters, digits, '_', '-' or '.' (starting with a letter or digit) "
                f"but got {name!r}",
                hint="it is written on the command line, in config files and in run directory names",
            )
        if not callable(factory):
            raise ConfigError(f"{self.kind} {name!r} must be registered with a callable factory but got {factory!r}")
        if not replace and name in self.names():
            raise ConfigError(f"{self.kind} {name!r} is already registered", hint="pass replace=True to override it")
        self._loaded.pop(name, None)
        self._registered[name] = self._entry(name, factory, options, "registered")

    def names(self) -> list[str]:
        """Every available name: built-in, registered and installed (entry points), sorted."""
        return sorted({*self._builtins, *self._registered, *self._entry_points()})

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def entry(self, name: str) -> Entry[T]:
        """The component ``name``; ConfigError listing the valid names when there is none."""
        if name in self._registered:
            return self._registered[name]
        if name not in self._loaded:
            self._loaded[name] = self._load(name)
        return self._loaded[name]

    def entries(self, skip_broken: bool = False) -> list[Entry[T]]:
        """Every component; with ``skip_broken``, those that load (a broken plug-in must not hide a message)."""
        if not skip_broken:
            return [self.entry(name) for name in self.names()]
        found = []
        for name in self.names():
            try:
                found.append(self.entry(name))
            except ConfigError:
                continue
        return found

    def create(self, name: str, *runtime: Any, prefix: str | None = None, **options: Any) -> T:
        """Build component ``name`` with validated ``options`` (``runtime``: its non-option arguments)."""
        entry = self.entry(name)
        validated = entry.validate(options, prefix or self.section)
        return entry.factory(*runtime, **dict(validated))

    # -- internals --------------------------------------------------------------------------------------
    def _entry_points(self) -> dict[str, Any]:
        if self._installed is None:
            found = entry_points(group=self.group)
            self._installed = {ep.name: ep for ep in found if ep.name not in self._builtins}
        return self._installed

    def _load(self, name: str) -> Entry[T]:
        if name in self._builtins:
            module, _, attribute = self._builtins[name].partition(":")
            factory = getattr(importlib.import_module(module), attribute)
            return self._entry(name, factory, None, "built-in")
        installed = self._entry_points().get(name)
        if installed is None:
            raise self.unknown(name)
        try:
            factory = installed.load()
        except Exception as exc:  # a broken plug-in must not take the rest down
            raise ConfigError(
                f"{self.kind} {name!r} from entry point {installed.value} failed to load: {type(exc).__name__}: {exc}",
                hint=f"reinstall the package that provides it, or pick another {self.kind}",
            ) from None
        origin = getattr(getattr(installed, "dist", None), "name", None) or installed.value
        return self._entry(name, factory, None, f"plug-in ({origin})")

    def unknown(self, name: str) -> ConfigError:
        valid = self.names()
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f"did you mean {close[0]}?" if close else f"list them with `tscl {self.command} list`"
        return ConfigError(f"{self.kind} must be one of {', '.join(valid)} but got {name!r}", hint=hint)

    def _entry(self, name: str, factory: Callable[..., T], options: type[Options] | None, origin: str) -> Entry[T]:
        options = options or getattr(factory, "Options", None) or _derived_options(factory, self._runtime)
        doc = inspect.getdoc(factory) or ""
        summary = getattr(factory, "summary", None) or (doc.splitlines()[0] if doc else name)
        return Entry(name, factory, options, summary, origin, self.command)


def _package_modules(package: str | None) -> dict[str, str]:
    """``{module name: "package.module:COMPONENT"}`` of the package's public modules, found without importing them."""
    if package is None:
        return {}
    import pkgutil

    path = importlib.import_module(package).__path__
    return {m.name: f"{package}.{m.name}:COMPONENT" for m in pkgutil.iter_modules(path) if not m.name.startswith("_")}


def _derived_options(factory: Callable[..., Any], runtime: tuple[str, ...]) -> type[Options]:
    """An options class from a plug-in factory's keyword parameters (typed where annotated)."""
    fields: dict[str, Any] = {}
    open_ended = False
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            open_ended = True
        elif parameter.name in runtime or parameter.kind is parameter.VAR_POSITIONAL:
            continue
        elif parameter.default is not parameter.empty:
            annotation = parameter.annotation if parameter.annotation is not parameter.empty else Any
            fields[parameter.name] = (Any if isinstance(annotation, str) else annotation, parameter.default)
    base = _OpenOptions if open_ended else Options
    name = f"{getattr(factory, '__name__', 'Plugin')}Options"
    return create_model(name, __base__=base, **fields)


def plain(value: Any) -> Any:
    """``value`` with numpy scalars turned into Python ones, in mappings, lists and tuples too: strict options
    take ``np.int64(3)`` (a loop over ``np.arange``) as the integer it is, not as a wrong type."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(plain(item) for item in value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()
    return value


def check_options(
    options: type[OptionsT], values: Mapping[str, Any], prefix: str, component: str, shown_by: str | None = None
) -> OptionsT:
    """``options(**values)``, or a ConfigError naming ``prefix.key``, the expectation and the value.

    Also what a component's ``__init__`` calls when it is built directly, without the registry.
    """
    values = plain(values)
    unknown = sorted(set(values) - set(options.model_fields))
    if unknown and options.model_config.get("extra") != "allow":
        raise unknown_option_error(prefix, unknown[0], component, list(options.model_fields))
    try:
        return options(**values)
    except ValidationError as exc:
        raise _validation_error(exc, prefix, component, shown_by) from None


def unknown_option_error(prefix: str, key: str, component: str, valid: Iterable[str]) -> ConfigError:
    valid = list(valid)
    close = difflib.get_close_matches(key, valid, n=1)
    listing = ", ".join(valid) if valid else "none"
    qualified = (lambda name: f"{prefix}.{name}") if prefix else (lambda name: name)
    hint = f"did you mean {qualified(close[0])}? valid keys: {listing}" if close else f"valid keys: {listing}"
    return ConfigError(f"{qualified(key)} is not an option of {component}", hint=hint)


def _validation_error(exc: ValidationError, prefix: str, component: str, shown_by: str | None) -> ConfigError:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    # An error of the options together (a model validator) has no key: it names the component instead.
    name = f"{prefix}.{key}" if key else " ".join(part for part in (prefix, component) if part)
    message = str(error["msg"]).replace("Input should be", "must be").replace("Value error, ", "")
    if not message.startswith("must"):
        message = f"is invalid: {message}"
    return ConfigError(
        f"{name} {message} but got {error.get('input')!r}",
        hint=f"`{shown_by}` lists every option" if shown_by else None,
    )


def describe_options(options: type[Options]) -> list[dict[str, Any]]:
    """One row per option: name, type, default, constraint and help (for ``tscl objectives show``)."""
    rows = []
    for name, field in options.model_fields.items():
        constraint = ", ".join(_constraint(meta) for meta in field.metadata if _constraint(meta))
        kind = _type_name(field.annotation)
        rows.append({
            "name": name, "type": kind, "default": field.get_default(call_default_factory=True),
            "constraint": constraint,
            "help": field.description or "",
        })  # fmt: skip
    return rows


def _type_name(annotation: Any) -> str:
    """``int``, ``float | None``, ``'adam' | 'adamw'``, ``tuple[int, ...]`` (a Literal lists its choices)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(choice) for choice in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in args)
    if origin is not None:
        inner = ", ".join("..." if arg is Ellipsis else _type_name(arg) for arg in args)
        return f"{getattr(origin, '__name__', origin)}[{inner}]"
    return "None" if annotation is type(None) else str(getattr(annotation, "__name__", annotation))


def _constraint(meta: Any) -> str:
    for attribute, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        value = getattr(meta, attribute, None)
        if value is not None and not (isinstance(value, float) and math.isinf(value)):
            return f"{symbol} {value}"
    return ""


def option_table(entry: Entry[Any]) -> list[dict[str, Any]]:
    """The rows of :func:`describe_options` for a registered component."""
    return describe_options(entry.options)
