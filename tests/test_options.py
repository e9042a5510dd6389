"""Options given as Python values or as text: checked against their field's type, refused in one line."""

import dataclasses

import numpy as np
import pytest

import cleanplate
from cleanplate.bench.specs import parse_engine_spec
from cleanplate.cli.options import parse_side_effect_options
from cleanplate.errors import InputError
from cleanplate.typed import coerce


@dataclasses.dataclass
class Config:
    size: int = 1
    level: float = 0.5
    on: bool = False
    name: str = "a"
    limit: int | None = None
    extra: dict | None = None


@pytest.mark.parametrize("key, value, expected", [
    ("size", "12", 12), ("size", 12, 12), ("size", np.int64(3), 3),
    ("level", "0.25", 0.25), ("level", 2, 2.0), ("level", np.float32(0.5), 0.5),
    ("on", "yes", True), ("on", "Off", False), ("on", True, True), ("on", np.bool_(True), True),
    ("name", "b", "b"), ("limit", None, None), ("limit", "7", 7), ("extra", {"a": 1}, {"a": 1}),
])
def test_values_of_the_right_type_or_text_pass(key, value, expected):
    from cleanplate.typed import field_types

    out = coerce(field_types(Config)[key], value, key, key)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("key, value, problem", [
    ("size", "many", "is not a valid int"), ("size", 2.5, "is not a valid int"), ("size", True, "is not a valid int"),
    ("level", "high", "is not a valid float"), ("level", False, "is not a valid float"),
    ("on", "maybe", "is not a boolean"), ("on", 1, "is not a boolean"),
    ("name", 3, "is not text"), ("size", None, "has no value"), ("extra", [1], "is not a dict"),
])
def test_values_of_another_type_are_refused_naming_the_option(key, value, problem):
    from cleanplate.typed import field_types

    with pytest.raises(InputError, match=problem) as err:
        coerce(field_types(Config)[key], value, key, f"option {key}={value!r}")
    assert f"option {key}=" in str(err.value) and " — " in str(err.value)


def clip():
    video = np.zeros((4, 16, 16, 3), np.uint8)
    mask = np.zeros((4, 16, 16), bool)
    mask[:, 4:8, 4:8] = True
    return video, mask


@pytest.mark.parametrize("config, expected", [
    ({"side_effects": "auto", "side_effect_options": {"window": "many"}}, "side-effect option window='many'"),
    ({"side_effects": "auto", "side_effect_options": {"relight": "sometimes"}}, "is not a boolean"),
    ({"side_effect_options": [1]}, "is not a dict"),
    ({"dilate": 2.5}, "option dilate=2.5"),
    ({"mask_kind": "bogus"}, "--mask-kind"),
    ({"window": True}, "engine 'propagate' option window=True"),
])
def test_remove_refuses_wrongly_typed_options_before_any_work(config, expected):
    with pytest.raises(InputError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        cleanplate.remove(*clip(), **config)


def test_remove_reads_options_given_as_text_as_the_command_line_does():
    video, mask = clip()
    given = cleanplate.remove(video, mask, dilate="2", side_effects="auto", side_effect_options={"window": "12", "overlap": "4"})
    typed = cleanplate.remove(video, mask, dilate=2, side_effects="auto", side_effect_options={"window": 12, "overlap": 4})
    assert np.array_equal(given, typed)


def test_command_line_and_bench_specs_share_the_rules():
    assert parse_side_effect_options(("window=60", "relight=off")) == {"window": 60, "relight": False}
    spec = parse_engine_spec("propagate:side_effects=auto,dilate=6,oracle=yes")
    assert spec.options == {"side_effects": "auto", "dilate": 6} and spec.oracle is True
    with pytest.raises(InputError, match="dilate=wide: is not a valid int"):
        parse_engine_spec("propagate:dilate=wide")
