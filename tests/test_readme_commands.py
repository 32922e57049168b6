"""The README as a front door: its commands are the ones that exist, and the quick ones run as written.

Blocks marked with an HTML comment ``<!-- quick -->`` on the line before their fence are run
as they stand, line by line under ``bash -e``, in a fresh folder holding a copy of
``search_spaces/`` (what a fresh clone has), with ``mammosearch`` and ``python`` the ones
under test. Every other command line is parsed by the real command line (unknown commands and
options fail) but not run: those need data, the internet or minutes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO

DOCS = [REPO / "README.md", REPO / "search_spaces" / "README.md", REPO / "results" / "README.md"]
QUICK_MARK = "<!-- quick -->"


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    quick: bool
    text: str


def fenced_blocks(doc: Path) -> list[Block]:
    """Every fenced code block of a Markdown file, indented ones (inside list items) included."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = re.match(r"^(\s*)(```+)(\w*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, lang = opening.groups()
        previous = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j])
            j += 1
        blocks.append(Block(doc, i + 1, lang, previous == QUICK_MARK, "\n".join(body)))
        i = j + 1
    return blocks


def command_lines(block: Block) -> list[str]:
    """The shell commands of a block: continuations joined; in output blocks, the ``$ `` lines only."""
    joined = block.text.replace("\\\n", " ")
    if block.lang in ("bash", "sh", "shell"):
        return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [line.strip()[2:] for line in joined.splitlines() if line.strip().startswith("$ ")]


def mammosearch_argvs(command: str) -> list[list[str]]:
    """Each ``mammosearch ...`` invocation in one shell line (``&&``, ``;`` and a time prefix allowed)."""
    argvs = []
    for part in re.split(r"&&|;|\|\|", command):
        words = shlex.split(part, comments=True)
        while words and (re.match(r"^[A-Z_]+=", words[0]) or words[0] in ("/usr/bin/time", "time", "-f") or words[:1] == ["%e s wall"]):
            words = words[1:]
        if words and words[0] == "mammosearch":
            argvs.append(words[1:])
    return argvs


ALL_BLOCKS = [block for doc in DOCS for block in fenced_blocks(doc)]
QUICK_BLOCKS = [block for block in ALL_BLOCKS if block.quick]


def test_the_readme_marks_quick_blocks_and_they_are_shell_blocks():
    assert QUICK_BLOCKS, "README.md has no block marked <!-- quick -->"
    assert all(block.lang == "bash" for block in QUICK_BLOCKS)


@pytest.mark.parametrize(
    "argv",
    sorted({shlex.join(argv) for block in ALL_BLOCKS for command in command_lines(block) for argv in mammosearch_argvs(command)}),
)
def test_every_mammosearch_command_in_the_docs_parses(argv: str):
    """A command or option the docs name and the command line lacks (e.g. ``validate --set``) fails here."""
    import typer.main

    from mammosearch.cli import app

    words = shlex.split(argv)
    if "--version" in words or "--help" in words:
        return  # eager options exit while parsing; --version runs in a quick block
    # typer carries its own copy of click, so groups are told by what they have, not by class.
    command = typer.main.get_command(app)
    ctx = command.make_context("mammosearch", list(words))
    while hasattr(command, "resolve_command"):
        rest = [*getattr(ctx, "protected_args", getattr(ctx, "_protected_args", [])), *ctx.args]
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None, argv
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)


def test_every_file_the_docs_run_is_shipped():
    """``--space search_spaces/x.yaml`` and ``python benchmarks/x.py`` in a command name files a clone has."""
    named = {
        match
        for block in ALL_BLOCKS
        for command in command_lines(block)
        for match in re.findall(r"(?:search_spaces|benchmarks)/[\w./-]+\.(?:yaml|py)", command)
    }
    assert named
    missing = sorted(path for path in named if not (REPO / path).is_file())
    assert not missing, missing


def test_mammosearch_data_is_exported_before_the_first_command_that_reads_mini_mias():
    """A reader going top to bottom sets MAMMOSEARCH_DATA before any command needs it."""
    readme = [block for block in ALL_BLOCKS if block.doc.name == "README.md" and block.doc.parent == REPO]
    exported = False
    for block in readme:
        for command in command_lines(block):
            exported = exported or command.startswith("export MAMMOSEARCH_DATA=")
            reads_mias = re.search(r"mias[\w-]*\.(yaml|py)|fetch mini-mias", command)
            if reads_mias and not command.startswith("MAMMOSEARCH_DATA="):
                assert exported, f"README.md line {block.line}: {command!r} needs MAMMOSEARCH_DATA, exported only later"


def _shims(folder: Path) -> dict[str, str]:
    """``mammosearch`` and ``python`` as a user's activated environment has them, for the sources under test."""
    folder.mkdir()
    for name, argv in {"mammosearch": f"{shlex.quote(sys.executable)} -m mammosearch.cli", "python": shlex.quote(sys.executable)}.items():
        shim = folder / name
        shim.write_text(f'#!/bin/sh\nexec {argv} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "MAMMOSEARCH_"))}
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    env["COLUMNS"] = "120"
    return env


@pytest.mark.slow
@pytest.mark.parametrize("block", QUICK_BLOCKS, ids=lambda b: f"{b.doc.name}:{b.line}")
def test_quick_blocks_run_as_written(block: Block, tmp_path: Path):
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copytree(REPO / "search_spaces", clone / "search_spaces")
    env = _shims(tmp_path / "bin")
    script = "set -e\n" + block.text + "\n"
    started = time.monotonic()
    result = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - started
    assert result.returncode == 0, f"{block.doc.name} line {block.line} failed after {took:.0f} s:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stdout + result.stderr
    # What the quick block promises it leaves behind, read back.
    if "quick/predictions.csv" in block.text:
        assert (clone / "quick" / "mammosearch.db").is_file()
        assert (clone / "quick" / "exported" / "model.keras").is_file()
        rows = (clone / "quick" / "predictions.csv").read_text(encoding="utf-8").splitlines()
        assert len(rows) > 1
        unlisted = unlisted_results_files(clone / "quick", outside={"exported", "images", "predictions.csv"})
        assert not unlisted, f"results/README.md does not list {unlisted}"
    if "--version" in block.text:
        assert re.search(r"^mammosearch \d", result.stdout, re.MULTILINE), result.stdout


def unlisted_results_files(results: Path, outside: set[str]) -> list[str]:
    """Files a run wrote under its results folder that results/README.md's layout does not name.

    A file with a fixed name is looked up by its last two path parts (trial numbers read as
    ``<number>``, the study folder as ``<study>``); a file named by a hash, by its folder.
    """
    layout = (REPO / "results" / "README.md").read_text(encoding="utf-8")
    missing = []
    for path in sorted(results.rglob("*")):
        rel = path.relative_to(results)
        if not path.is_file() or rel.parts[0] in outside:
            continue
        parts = ["<number>" if part.isdigit() else part for part in rel.parts]
        if re.search(r"[0-9a-f]{16}", parts[-1]):
            wanted = "/".join(parts[:-1]) + "/"
        else:
            wanted = "/".join(parts[-2:]) if len(parts) > 2 else parts[-1]
        if wanted not in layout:
            missing.append(str(rel))
    return missing
