"""What a new user reads about the commands matches what ``kg --help`` lists."""

from __future__ import annotations

from pathlib import Path

from kg_engine.cli.app import app_for

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_names_every_command_of_kg_help() -> None:
    app = app_for([])
    commands = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    text = README.read_text(encoding="utf-8")
    listing = text[text.index("`kg --help` lists every command"):]
    listing = listing[:listing.index("\n\n")]
    missing = sorted(c for c in commands if f"`{c}" not in listing)
    assert missing == [], f"README's command list lacks {missing}"  # it lacked serve, vacuum
