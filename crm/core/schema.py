"""The OpenAPI schema states what the API really answers.

drf-spectacular documents the success response of each operation from its serializer.  This schema class
adds, in one place, what every endpoint can also answer and how (see docs/api.md, "Errors"):

- the error responses an operation can give, with the project's error shapes: ``400`` with
  ``{field: [messages]}`` (``non_field_errors`` for the whole record, nested objects for nested fields),
  and ``401``/``403``/``404``/``415``/``429`` with ``{"detail": "…"}``;
- the blank value ``""`` in the enum of a read-only choice whose model field may be blank;
- the real constraints of request bodies: decimal strings that parse, ``minItems`` of nested lists with
  ``min_length``, and fields of which one is required (``required_one_of`` on the serializer).

Names read through a relation that may be empty are declared ``allow_null=True`` in the serializers (not
``default=None``, which DRF leaves out of a PATCH response), so drf-spectacular marks them ``nullable``.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers

DETAIL_ERROR = ResolvedComponent(
    name="ErrorDetail",
    type=ResolvedComponent.SCHEMA,
    object="ErrorDetail",
    schema={
        "type": "object",
        "description": "An error that concerns the whole request.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
)
VALIDATION_ERROR = ResolvedComponent(
    name="ValidationError",
    type=ResolvedComponent.SCHEMA,
    object="ValidationError",
    schema={
        "type": "object",
        "description": (
            "Invalid input: each field maps to a list of messages; problems of the whole record are under "
            "non_field_errors; nested objects (custom_fields, lines) map their own keys or items the same "
            "way; a possible duplicate adds its counts.  A body that cannot be parsed answers {\"detail\": \"…\"}."
        ),
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {}},
                {"type": "object", "additionalProperties": {}},
                {"type": "string"},
                {"type": "integer"},
            ],
        },
        "example": {"name": ["This field is required."]},
    },
)

BODY_METHODS = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for component in (DETAIL_ERROR, VALIDATION_ERROR):
            registry.register_on_missing(component)
        responses = operation.setdefault("responses", {})
        for code, response in responses.items():
            # An error a view declares with a description only has the project's error shape too.
            if code.startswith("4") and "content" not in response:
                component = VALIDATION_ERROR if code == "400" else DETAIL_ERROR
                response["content"] = {"application/json": {"schema": component.ref}}
        for code, (component, description) in self.error_responses(operation).items():
            responses.setdefault(code, {
                "description": description,
                "content": {"application/json": {"schema": component.ref}},
            })
        return operation

    def error_responses(self, operation) -> dict:
        """The error statuses this operation can answer: {code: (component, description)}."""
        method = self.method
        query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
        has_path_parameters = any(p.get("in") == "path" for p in operation.get("parameters", []))
        open_to_all = all(isinstance(p, permissions.AllowAny) for p in self.view.get_permissions())
        errors = {}
        if method in BODY_METHODS or method == "DELETE" or query:
            errors["400"] = (VALIDATION_ERROR, "Invalid input, a bad filter value, or a record still in use.")
        errors["401"] = (DETAIL_ERROR, "Missing, invalid or revoked token.")
        if not open_to_all:
            errors["403"] = (DETAIL_ERROR, "The caller's role lacks the action this operation needs.")
        if has_path_parameters or any(p.get("name") == "cursor" for p in query):
            errors["404"] = (DETAIL_ERROR, "No such record, or outside the caller's scope; or an invalid cursor.")
        if method in BODY_METHODS:
            errors["415"] = (DETAIL_ERROR, "The body's content type is not accepted.")
        if self.view.get_throttles():
            errors["429"] = (DETAIL_ERROR, "Too many requests: wait for the Retry-After seconds.")
        return errors

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if direction == "response" and field.read_only and isinstance(field, serializers.ChoiceField):
            # A read-only model field loses allow_blank in DRF, yet a blank value is still returned.
            model_field = model_field_of(field)
            if model_field is not None and model_field.blank and not getattr(field, "allow_blank", False):
                field.allow_blank = True
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(schema, dict):
            if isinstance(field, serializers.ListSerializer) and getattr(field, "min_length", None):
                schema["minItems"] = field.min_length
            if isinstance(field, serializers.DecimalField) and "pattern" in schema:
                schema["pattern"] = decimal_pattern(field)
        return schema

    def _postprocess_serializer_schema(self, schema, serializer, direction):
        """``required_one_of = (("customer", "customer_ref"),)`` on a serializer: each group needs one of
        its fields (not in PATCH bodies)."""
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        groups = getattr(serializer, "required_one_of", ())
        if direction == "request" and groups and not serializer.partial:
            any_ofs = [{"anyOf": [{"required": [name]} for name in group]} for group in groups]
            if len(any_ofs) == 1:
                schema.update(any_ofs[0])
            else:
                schema["allOf"] = any_ofs
        return schema


def decimal_pattern(field) -> str:
    """drf-spectacular's decimal pattern also matches "", "-" and "."; this one only what parses, with the
    sign only when negative values are allowed."""
    sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
    whole = r"0" if field.max_whole_digits == 0 else fr"\d{{1,{field.max_whole_digits}}}"
    fraction = fr"(?:\.\d{{1,{field.decimal_places}}})?" if field.decimal_places else ""
    return f"^{sign}{whole}{fraction}$"


def model_field_of(field):
    """The model field a serializer field reads directly, or None."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source or field.source == "*":
        return None
    try:
        return model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return None
