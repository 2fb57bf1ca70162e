"""Config loading: defaults, TOML, [tool.sitegen], errors naming file and key."""
from __future__ import annotations

import datetime as dt

import pytest

from sitegen import config


def test_defaults_without_any_file(tmp_path):
    cfg = config.load(cwd=tmp_path)
    assert (cfg.title, cfg.sources, cfg.out, cfg.base_url) == ("Paper Digest", ("seeds",), "_site", "")


def test_sitegen_toml(tmp_path):
    (tmp_path / "sitegen.toml").write_text(
        'title = "My Digest"\nbase_url = "https://u.github.io/digest"\nyear = 2025\n'
        '[listings."a.txt"]\ndate = 2025-03-12\n[listings."b.txt"]\nyear = 2024\ntitle = "Old paste"\n')
    cfg = config.load(cwd=tmp_path)
    assert cfg.title == "My Digest" and cfg.base_url == "https://u.github.io/digest/"
    assert cfg.listing("a.txt").date == dt.date(2025, 3, 12)
    assert cfg.listing("b.txt") == config.ListingSettings(year=2024, title="Old paste")
    assert cfg.listing("c.txt") == config.ListingSettings()


def test_pyproject_tool_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.sitegen]\ntitle = "From pyproject"\n')
    assert config.load(cwd=tmp_path).title == "From pyproject"


def test_every_bad_key_is_reported_with_the_file(tmp_path):
    path = tmp_path / "sitegen.toml"
    path.write_text('titel = "typo"\nyear = "2025"\nbase_url = "example.org"\n[listings."a.txt"]\ndate = "Mar 12"\ncolour = 1\n')
    with pytest.raises(config.ConfigError) as e:
        config.load(cwd=tmp_path)
    lines = str(e.value).splitlines()
    assert all(line.startswith(str(path)) for line in lines)
    joined = str(e.value)
    for key in ("`titel`", "`year`", "`base_url`", "listings.'a.txt'.date", "listings.'a.txt'.colour"):
        assert key in joined
    assert len(lines) == 5


def test_toml_syntax_error_names_file_and_line(tmp_path):
    (tmp_path / "sitegen.toml").write_text('title = "unclosed\n')
    with pytest.raises(config.ConfigError, match=r"sitegen\.toml: .*line 1"):
        config.load(cwd=tmp_path)


def test_missing_explicit_config(tmp_path):
    with pytest.raises(config.ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


def test_explicit_pyproject_without_a_sitegen_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(config.ConfigError, match=r"no \[tool.sitegen\] table"):
        config.load(tmp_path / "pyproject.toml")
    assert config.load(cwd=tmp_path).title == "Paper Digest"  # found implicitly: defaults
