"""Every trim of what the tool list publishes, and every result's shape on the wire, in one place.

Tool lists eat the client's context window, so schemas say what a model needs to call right, once: input schemas
keep every type, enum, upper bound, default and required field, and lose titles, null arms and checks no caller
needs to see (the server still makes them); output schemas describe results rather than constrain calls, so they
keep fields and structure, and shapes many results share are spelt out once. Results go out as compact JSON
without nulls. The 27 generic operations get their signatures (hence their schemas) at run time, from `keyword`
and `signed`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticSerializationError, to_json

from github_packages_mcp.github.catalogue import MAX_ID
from github_packages_mcp.github.listing import compact_json
from github_packages_mcp.github.models import Package, PackageVersion

__all__ = [
    "MAX_RESULT_TEXT",
    "ResultLimits",
    "argument_defaults",
    "argument_problems",
    "argument_values",
    "build_tool",
    "concise",
    "keyword",
    "signed",
]

# No result's text is longer than this (about 15k tokens, well under the 25k-token cap some clients put on a result).
MAX_RESULT_TEXT = 60_000
# How much a long result holds: "context_window" (MCP clients) cuts an `all_pages` listing at MAX_RESULT_TEXT and
# shows a plan's, an apply's or the journal's first items; "none" (the command line's `call`, where a person reads
# the result and has no context window to fill) keeps every page and every decision.
ResultLimits = Literal["context_window", "none"]


def build_tool(fn: Callable[..., Any], **kwargs: Any) -> Tool:
    """An SDK tool with compact schemas, refusing arguments it does not know. `fn` returns
    `Annotated[CallToolResult, Model]`: its results are built from the model (see `concise`), and the model gives
    the output schema.
    """
    # Without structured output the SDK derives no output schema: `_output_schema` makes each model's once, where
    # the SDK would make it again for every tool returning that model (a third of building the tools).
    tool = _ReadableTool.from_function(fn, structured_output=False, **kwargs)
    tool.parameters.pop("title", None)
    for prop in tool.parameters.get("properties", {}).values():
        _tidy_argument(prop)
    tool.fn_metadata.output_schema = _output_schema(get_args(inspect.signature(fn, eval_str=True).return_annotation)[1])
    return tool


@cache
def _output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return _published_output(model.model_json_schema())


class _ReadableTool(Tool):
    """A tool whose invalid arguments are refused one line per argument ("per_page: at most 100, got 1000"),
    without pydantic's error codes and URLs."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        arguments_model = self.fn_metadata.arg_model
        if arguments_model.model_config.get("extra") != "forbid":  # made so at the first call: building stays cheap
            # A misspelt argument (`per_pag`, `confirmation_tokn`) is an error naming it, not silently dropped.
            arguments_model.model_config["extra"] = "forbid"
            arguments_model.model_rebuild(force=True)
        try:
            return await super().run(arguments, context, convert_result)
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            lines = "\n".join(_argument_error(error) for error in exc.__cause__.errors(include_url=False))
            raise ToolError(
                f"Error executing tool {self.name}: Invalid arguments, nothing was sent:\n{lines}"
            ) from None


def argument_problems(tool: Tool, arguments: Mapping[str, Any]) -> list[str]:
    """What the built `tool` would refuse in `arguments`, one line per argument as its calls say it
    ("keep_latest: a whole number (integer), got 'ten'"); none when it takes them. Nothing is run."""
    try:
        tool.fn_metadata.arg_model.model_validate(dict(arguments))
    except ValidationError as exc:
        return [_argument_error(error) for error in exc.errors(include_url=False)]
    return []


def argument_values(tool: Tool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` as the built `tool`'s call gets them: validated, converted (`"2w"` is 14.0 days), and every
    argument not given at its default.

    Raises:
        ValidationError: If the tool would refuse them (`argument_problems` says why).
    """
    validated = tool.fn_metadata.arg_model.model_validate(dict(arguments))
    return {name: getattr(validated, name) for name in type(validated).model_fields}


def argument_defaults(tool: Tool) -> dict[str, Any]:
    """Every argument of the built `tool`, in its order, with its default (None when it is required)."""
    fields = tool.fn_metadata.arg_model.model_fields
    return {
        name: None if field.is_required() else field.get_default(call_default_factory=True)
        for name, field in fields.items()
    }


def _argument_error(error: ErrorDetails) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "arguments"
    context, given = error.get("ctx") or {}, f", got {_shown(error.get('input'))}"
    said = {
        "missing": "required",
        "extra_forbidden": "not an argument of this tool",
        "less_than_equal": f"at most {context.get('le')}{given}",
        "greater_than_equal": f"at least {context.get('ge')}{given}",
        "literal_error": f"one of {context.get('expected')}{given}",
        "string_type": f"a string{given}",
        "int_type": f"a whole number (integer){given}",
        "int_from_float": f"a whole number (integer){given}",
        "bool_type": f"true or false{given}",
        "list_type": f"a list{given}",
        "string_too_long": f"at most {context.get('max_length')} characters, got {_length(error.get('input'))}",
        "too_long": f"at most {context.get('max_length')} items, got {_length(error.get('input'))}",
    }.get(error["type"])
    return f"{name}: {said or error['msg'][:1].lower() + error['msg'][1:] + given}"


def _length(value: Any) -> str:
    return str(len(value)) if isinstance(value, str | list | tuple | dict) else _shown(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tidy_argument(schema: dict[str, Any]) -> None:
    # No per-field titles (the name says it). An optional argument is left out rather than sent as null, so it
    # publishes only its real type: no `anyOf` for clients and model providers that handle it badly.
    schema.pop("title", None)
    arms = [arm for arm in schema.pop("anyOf", []) if arm.get("type") != "null"]
    if len(arms) == 1:
        schema.update(arms[0])
    if schema.get("default", 0) is None:
        del schema["default"]
    elif schema.get("type") == "string" and isinstance(schema.get("default"), int | float):  # a day count as text
        schema["default"] = f"{schema['default']:g}"
    # What the model needs to call right, not a copy of every check (the server still makes them all): no lower
    # bound of one character, no id bound no id comes near (2^53 - 1).
    if schema.get("minLength") == 1:
        del schema["minLength"]
    if schema.get("maximum") == MAX_ID:
        del schema["maximum"]


# Shapes that many results hold are published in full once, as the result of the tools named here; inside other
# results (every listing's items) they point there: a package's shape is ~300 bytes in each of nine tools.
_PUBLISHED_BY = {Package.__name__: "get_*_package", PackageVersion.__name__: "get_*_package_version"}
# What a tool answers while it waits for the person's confirmation is described once, in the server's instructions
# (and in that answer's message), not in the output schema of each of the eight tools that may ask.
_CONFIRMATION_FIELDS = ("confirmation_required", "summary", "confirmation_token", "expires_at")


def _published_output(schema: dict[str, Any]) -> dict[str, Any]:
    # The root stays `type: object` (clients require it); nested objects are known by their properties.
    published = _compact_output(schema, schema.get("$defs", {})) | {"type": "object"}
    fields = published.get("properties", {})
    if all(name in fields for name in _CONFIRMATION_FIELDS):
        for name in _CONFIRMATION_FIELDS:
            del fields[name]
    return published


def _compact_output(schema: dict[str, Any], defs: dict[str, Any], *, field: bool = False) -> dict[str, Any]:
    """`schema` as published: the result's fields by name, each saying only whether it is a list or an object (a
    `field` of the result); what a list's items or an object's fields hold is seen in the result, or said by the
    get_ tool that answers that shape. Deeper shapes cost a third of tools/list and every client's check of every
    result, for names a result shows anyway."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in _PUBLISHED_BY:
            return {"description": f"as {_PUBLISHED_BY[name]}"}
        return _compact_output(defs[name], defs, field=field)
    arms = [arm for arm in schema.get("anyOf", []) if arm != {"type": "null"}]
    if len(arms) == 1 < len(schema["anyOf"]):  # nullable; `concise` leaves nulls out, so only the real type
        return _compact_output(arms[0], defs, field=field)
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            # Strict validators (ajv's strict mode) refuse `properties` without the object type.
            compact["type"] = "object"
            if not field:
                compact[key] = {name: _compact_output(prop, defs, field=True) for name, prop in value.items()}
        elif key == "items" and set(items := _compact_output(value, defs, field=True)) == {"description"}:
            # Items a get_ tool answers are said of the array, so that clients check no item against it.
            compact["description"] = f"each {items['description']}"
        elif key == "type" and value == "array":
            # Structure keeps its type; plain values (names, ids, counts, times, flags) are known by name.
            compact[key] = value
        elif key == "format":
            compact[key] = value
    return compact


def concise(result: BaseModel, *, declared_only: bool = False) -> CallToolResult:
    """The result as structured content and as compact JSON text, both without null fields.

    The text is what many clients put in the model's context: no indentation, no nulls. `declared_only`: the result
    holds no fields but those its models declare (no GitHub object passed through whole, as `full_results` does).
    """
    data = result.model_dump(mode="json", exclude_none=True)
    return CallToolResult(
        content=[TextContent(type="text", text=_text(result, data, declared_only))], structured_content=data
    )


def _text(result: BaseModel, data: dict[str, Any], declared_only: bool) -> str:
    """`compact_json(data)`, written by pydantic-core (in a third of the time) when the result cannot hold a float:
    json writes floats as Python does, pydantic-core some otherwise (1e-05 against 0.00001)."""
    if declared_only and _typed_without_floats(type(result)):
        with suppress(PydanticSerializationError):  # a lone surrogate, which json writes as it is
            return to_json(data).decode()
    return compact_json(data)


@cache
def _typed_without_floats(model: type[BaseModel]) -> bool:
    """Whether no field of `model`, nor of a model it holds, is typed to hold a float (or anything at all)."""
    return all(_without_floats(field.annotation) for field in model.model_fields.values())


def _without_floats(annotation: Any) -> bool:
    if annotation in (str, int, bool, NoneType):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _typed_without_floats(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return all(type(arg) in (str, int, bool) for arg in args)
    if origin is Annotated:
        return _without_floats(args[0])
    return origin in (list, Union, UnionType) and all(_without_floats(arg) for arg in args)


def keyword(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def signed(fn: Callable[..., Any], name: str, params: list[inspect.Parameter], returns: Any) -> Callable[..., Any]:
    """Give a generic `**arguments` function the exact signature the SDK reads schemas and resolvers from."""
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    fn.__name__ = fn.__qualname__ = name
    return fn
