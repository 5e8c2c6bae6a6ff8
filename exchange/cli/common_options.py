"""Options a command group shares with all its subcommands, given before the subcommand or after it.

`coalition settlement --target X verify` and `coalition settlement verify --target X` mean the
same; so do `coalition admin --target X list` and `coalition admin list --target X`. Staff copy
command lines from the docs, from their shell history and from each other, and the place an
option goes should not be a thing to remember.

A group declares its shared options once (`SharedOptions`), registers them as the group's own
options (`install`) and wraps each subcommand (`command`), which then takes the same options
after its name. A value given after the subcommand wins over one given before it, which wins
over the environment variable and the default. The subcommand finds the merged values, built
into whatever object the group wants, in `ctx.obj`.

Typer reads a command's options from its signature, so the wrapper's signature is the
subcommand's own plus the shared options; nothing else about the command changes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

_GIVEN_BEFORE = "coalition.shared-options"
TARGET_ENV = "COALITION_TARGET"  # the hub every client command talks to, unless --target says otherwise
Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class SharedOption:
    """One shared option: its parameter name, value type, flag, help and default."""

    name: str
    kind: type  # the value's type, e.g. str or Path (the option is declared as `kind | None`)
    flag: str
    help: str
    default: Any = None
    envvar: str | None = None  # read before the subcommand only, so a value after it still wins


class SharedOptions:
    """A group's shared options, and how the group turns their values into its ctx.obj."""

    def __init__(self, *options: SharedOption, build: Callable[[Mapping[str, Any]], object]) -> None:
        self.options = options
        self.build = build

    def install(self, app: typer.Typer, *, help: str) -> None:
        """Make the shared options the group's own, so they may come before the subcommand."""

        def before_the_subcommand(ctx: typer.Context, **given: Any) -> None:
            ctx.meta[_GIVEN_BEFORE] = {name: value for name, value in given.items() if value is not None}

        parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
        parameters += [self._parameter(option, envvar=option.envvar) for option in self.options]
        before_the_subcommand.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        before_the_subcommand.__annotations__ = {p.name: p.annotation for p in parameters}
        before_the_subcommand.__doc__ = help
        app.callback()(before_the_subcommand)

    def command(self, function: Command) -> Command:
        """Wrap a subcommand so it takes the shared options after its name too; ctx.obj holds them built."""
        own = inspect.signature(function, eval_str=True)
        clash = {option.name for option in self.options} & set(own.parameters)
        if clash or "ctx" not in own.parameters:
            raise TypeError(f"{function.__name__}: needs a ctx parameter and no own {sorted(clash)}")

        @functools.wraps(function)
        def with_shared_options(*args: Any, **kwargs: Any) -> Any:
            given_after = {option.name: kwargs.pop(option.name) for option in self.options}
            ctx: typer.Context = kwargs["ctx"]
            given_before: dict[str, Any] = ctx.meta.get(_GIVEN_BEFORE, {})
            values = {
                option.name: _first_given(given_after[option.name], given_before.get(option.name), option.default)
                for option in self.options
            }
            ctx.obj = self.build(values)
            return function(*args, **kwargs)

        shared = [self._parameter(option, envvar=None) for option in self.options]
        parameters = [*own.parameters.values(), *shared]
        with_shared_options.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        with_shared_options.__annotations__ = {p.name: p.annotation for p in parameters} | {
            "return": own.return_annotation
        }
        return with_shared_options  # type: ignore[return-value]

    @staticmethod
    def _parameter(option: SharedOption, *, envvar: str | None) -> inspect.Parameter:
        described = option.help  # in parentheses: rich help would read [brackets] as markup
        if option.envvar:
            described += f" (env: {option.envvar})"
        if option.default is not None:
            described += f" (default: {option.default})"
        declared = typer.Option(option.flag, envvar=envvar, help=described, show_envvar=False)
        annotation = Annotated[option.kind | None, declared]  # type: ignore[name-defined]
        return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)


def _first_given(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)
