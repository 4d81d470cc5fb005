"""Configuration fails early and in one line: a missing file, an unknown key (with the
closest known key suggested), an out-of-range value, a bad environment value."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.config import DEFAULT_CONFIG, ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BEDFINDER_CONFIG", "BEDFINDER_HOLD_MINUTES", "BEDFINDER_LEVELS_OF_CARE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./config.yaml here


def refusal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str) -> str:
    path = tmp_path / "bedfinder.yaml"
    path.write_text(text)
    monkeypatch.setenv("BEDFINDER_CONFIG", str(path))
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert "\n" not in message
    return message


def test_shipped_defaults_load_from_any_directory() -> None:
    settings = load_settings()
    assert DEFAULT_CONFIG.parent.name == "inventory" and DEFAULT_CONFIG.is_file()
    assert len(settings.levels_of_care) == 16 and settings.hold_minutes == 120
    assert settings.pathways["withdrawal_management"][0] == "residential_sud"


def test_repository_config_is_the_shipped_file() -> None:
    assert (REPO / "config.yaml").resolve() == DEFAULT_CONFIG


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("BEDFINDER_CONFIG", str(missing))
    with pytest.raises(ConfigError, match="BEDFINDER_CONFIG names .*nowhere.yaml, which does "
                                          "not exist"):
        load_settings()


def test_unknown_key_is_named_with_the_closest_known_key(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    message = refusal(monkeypatch, tmp_path, "hold_minuts: 90\n")
    assert message.endswith("unknown setting 'hold_minuts'; did you mean 'hold_minutes'?")


def test_unknown_key_inside_a_level_of_care_is_named(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    message = refusal(monkeypatch, tmp_path,
                      "levels_of_care:\n  detox: {name: Detox, knd: bed}\n")
    assert "unknown setting 'levels_of_care.detox.knd'; did you mean 'kind'?" in message


def test_out_of_range_value_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    message = refusal(monkeypatch, tmp_path, "hold_minutes: -5\n")
    assert "hold_minutes: Input should be greater than or equal to 1, got -5" in message


def test_a_stall_bound_an_idle_reader_can_exceed_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    message = refusal(monkeypatch, tmp_path, "stream_stall_seconds: 1\n")
    assert "stream_stall_seconds: Input should be greater than or equal to 2, got 1" in message


def test_hold_longer_than_the_maximum_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    message = refusal(monkeypatch, tmp_path, "hold_minutes: 600\nhold_max_minutes: 480\n")
    assert "hold_minutes 600 is more than hold_max_minutes 480" in message


def test_pathway_to_an_unknown_level_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    message = refusal(monkeypatch, tmp_path, "levels_of_care:\n  detox: {name: Detox}\n"
                      "pathways:\n  detox: [rehab]\n")
    assert "pathways name levels of care that levels_of_care does not define: rehab" in message


def test_malformed_yaml_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert "is not valid YAML" in refusal(monkeypatch, tmp_path, "hold_minutes: [\n")


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDFINDER_HOLD_MINUTES", "ninety")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith("BEDFINDER_HOLD_MINUTES='ninety': hold_minutes: ")
    assert "\n" not in str(error.value)


def test_bad_structured_environment_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDFINDER_LEVELS_OF_CARE", "{not json")
    with pytest.raises(ConfigError, match="levels_of_care") as error:
        load_settings()
    assert "\n" not in str(error.value)


def test_environment_overrides_the_file_within_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDFINDER_HOLD_MINUTES", "90")
    assert load_settings().hold_minutes == 90
