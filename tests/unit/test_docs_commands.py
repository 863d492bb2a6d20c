"""Every ``assetgrade ...`` command line in README.md and docs/*.md names subcommands and options the CLI has.

The commands are checked against the real Click objects of ``assetgrade`` (``typer.main.get_command``)
without running anything: each subcommand exists, each ``--option``/``-o`` exists on the command it is
given to, an option that takes a value has one, and a value is one of the choices of a choice option
(an Enum or ``Literal`` parameter, or a ``click.Choice``) or a number where the option takes a number.
A command that gives more positional words than the command takes is flagged too (a ``--json FILE``
where ``--json`` became a flag reads as an extra argument).

Where commands are found
    * every line of a fenced or indented code block whose shell command (after ``$ ``, ``NAME=value``
      environment settings, ``do``/``then``/``else``, and ``;``, ``&&``, ``||``) starts with ``assetgrade``;
      backslash-continued lines are joined first;
    * every inline code span in prose or tables, or in a code block's comment, that starts with
      ``assetgrade `` and a lowercase word.

What is dropped or read as a placeholder
    * a comment from an unquoted ``#``, a redirection (``> F``, ``2> F``, ``< F``);
    * ``[`` and ``]`` around optional parts (their contents are checked as if given);
    * ``a|b|c`` inside one word: each alternative is checked (subcommands, option values);
    * a spaced `` | ``: an alternative. Followed by an option, the options after it are checked on the
      same command (``grade ASSET_ID | --all``); followed by a sibling subcommand, the rest is checked on
      that one (``ontology check FILE | show``); followed by anything else it is a shell pipe, and the
      rest is dropped;
    * ``...`` alone stands for more arguments or options (no count of positional words then); an
      upper-case word inside brackets (``[FLAGS]``) stands for options; a value in upper case
      (``FILE``, ``N``), or holding ``$``, ``<``, ``{`` or ``...``, is a placeholder and is not checked;
    * ``S = 0, 1, 2`` in the line's comment: the command is checked once with each value put for ``S``.

Deliberate usage errors
    A doc line that shows a usage error on purpose, next to its message, ends with the comment
    ``# usage error``; it is not checked. Keep these rare (there are none now).
"""

from __future__ import annotations

import itertools
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import typer
from markdown_it import MarkdownIt

from assetgrade.cli.app import build_app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI = typer.main.get_command(build_app())

USAGE_ERROR = "usage error"
SHELL_KEYWORDS = frozenset({"$", "do", "then", "else", "time"})
ENV_SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
PLACEHOLDER_DEF = re.compile(r"\b([A-Z][A-Z0-9_]*) = ([\w.-]+(?:, [\w.-]+)*)")
NEGATIVE_NUMBER = re.compile(r"-\.?\d")
REDIRECT = re.compile(r"(\d?>>?|<)")
COMMENT_SPAN = re.compile(r"`(assetgrade [a-z][^`]*)`")


@dataclass(frozen=True)
class DocCommand:
    """One ``assetgrade`` command found in a doc: where, its words after ``assetgrade``, its comment."""

    where: str
    words: tuple[tuple[str, bool], ...]  # (word, was quoted)
    comment: str

    @property
    def text(self) -> str:
        return " ".join(["assetgrade", *(w for w, _ in self.words)])


# --- reading shell lines -------------------------------------------------------------------------


def shell_words(line: str) -> tuple[list[tuple[str, bool]], str]:
    """The words of a shell line, with ``;``, ``&&``, ``||`` as words of their own, and its comment.

    >>> shell_words("assetgrade a 'b c' x;y  # note")
    ([('assetgrade', False), ('a', False), ('b c', True), ('x', False), (';', False), ('y', False)], 'note')
    """
    words: list[tuple[str, bool]] = []
    word, quoted, in_word, quote = "", False, False, ""
    i = 0

    def end_word() -> None:
        nonlocal word, quoted, in_word
        if in_word:
            words.append((word, quoted))
        word, quoted, in_word = "", False, False

    while i < len(line):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = ""
            else:
                word += ch
        elif ch in "'\"":
            quote, quoted, in_word = ch, True, True
        elif ch.isspace():
            end_word()
        elif ch == "#" and not in_word:
            return words, line[i + 1:].strip()
        elif ch == ";" or line.startswith(("&&", "||"), i):
            end_word()
            op = ";" if ch == ";" else line[i:i + 2]
            words.append((op, False))
            i += len(op) - 1
        else:
            word += ch
            in_word = True
        i += 1
    end_word()
    return words, ""


def commands_in_line(line: str, where: str) -> list[DocCommand]:
    """The ``assetgrade`` commands of one (joined) shell line."""
    words, comment = shell_words(line)
    found = []
    segment: list[tuple[str, bool]] = []
    for word in [*words, (";", False)]:
        if word in ((";", False), ("&&", False), ("||", False)):
            while segment and not segment[0][1] and (
                segment[0][0] in SHELL_KEYWORDS or ENV_SETTING.match(segment[0][0])
            ):
                segment.pop(0)
            if segment and segment[0] == ("assetgrade", False):
                args = segment[1:]
                cut = next((i for i, (w, q) in enumerate(args) if not q and REDIRECT.match(w)), len(args))
                found.append(DocCommand(where, tuple(args[:cut]), comment))
            segment = []
        else:
            segment.append(word)
    return found


def commands_in_code(code: str, first_line: int, rel: str) -> list[DocCommand]:
    """The commands of a code block whose first line is ``first_line`` (1-based)."""
    found: list[DocCommand] = []
    lines = code.split("\n")
    i = 0
    while i < len(lines):
        start, joined = i, lines[i]
        while joined.endswith("\\") and i + 1 < len(lines):
            i += 1
            joined = joined[:-1] + " " + lines[i]
        where = f"{rel}:{first_line + start}"
        found += commands_in_line(joined, where)
        for span in COMMENT_SPAN.findall(shell_words(joined)[1]):
            found += commands_in_line(span, where)
        i += 1
    return found


def commands_in_markdown(text: str, rel: str) -> list[DocCommand]:
    """Every command of a Markdown text: code-block lines and inline code spans."""
    md = MarkdownIt("commonmark").enable("table")
    lines = text.split("\n")
    found: list[DocCommand] = []
    for tok in md.parse(text):
        if tok.map is None:
            continue
        if tok.type == "fence":
            found += commands_in_code(tok.content, tok.map[0] + 2, rel)
        elif tok.type == "code_block":
            found += commands_in_code(tok.content, tok.map[0] + 1, rel)
        elif tok.type == "inline":
            # raw "`assetgrade" occurrences in the block, in order, give each span's line
            starts = [n for n in range(tok.map[0], tok.map[1]) for _ in range(lines[n].count("`assetgrade"))]
            spans = [c.content for c in tok.children or [] if c.type == "code_inline"]
            spans = [s for s in spans if s.startswith("assetgrade")]
            for n, span in zip(starts, spans, strict=False):
                if re.match(r"assetgrade [a-z]", span):
                    found += commands_in_line(span, f"{rel}:{n + 1}")
    return found


# --- checking against the Click objects ----------------------------------------------------------


def is_option(word: str) -> bool:
    return word.startswith("-") and word != "-" and not NEGATIVE_NUMBER.match(word)


def is_placeholder(value: str) -> bool:
    return (
        re.fullmatch(r"[A-Z][A-Z0-9_]*(\.\.\.)?", value) is not None
        or any(c in value for c in "$<{")
        or "..." in value
    )


def value_rule(param: Any) -> tuple[tuple[str, ...] | None, type | None]:
    """The choices of a parameter (or None) and the number type its values must parse as (or None)."""
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:  # typer's own parameters
        choices = desc.choices
        annotation = desc.annotation
        while typing.get_origin(annotation) in (typing.Union, types.UnionType, list):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    else:  # plain Click
        choices = getattr(param.type, "choices", None)
        annotation = {"integer": int, "float": float}.get(getattr(param.type, "name", ""))
    names = None if choices is None else tuple(str(getattr(c, "value", c)) for c in choices)
    return names, annotation if annotation in (int, float) else None


def bad_value(param: Any, value: str) -> str | None:
    """Why ``value`` cannot be given to ``param`` (None when it can, or is a placeholder)."""
    choices, number = value_rule(param)
    for alt in value.split("|"):
        if is_placeholder(alt):
            continue
        if choices is not None and alt not in choices:
            return f"{alt!r} is not one of {', '.join(choices)}"
        if number is not None:
            try:
                number(alt)
            except ValueError:
                return f"{alt!r} is not a number ({number.__name__})"
    return None


def takes_value(param: Any) -> bool:
    return param.param_type_name == "option" and not param.is_flag and not getattr(param, "count", False)


def find_option(cmd: Any, name: str) -> Any | None:
    for param in cmd.params:
        if param.param_type_name == "option" and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def max_positionals(cmd: Any) -> int | None:
    """How many positional words ``cmd`` takes; None for any number."""
    args = [p for p in cmd.params if p.param_type_name == "argument"]
    if any(p.nargs < 0 for p in args):
        return None
    return sum(int(p.nargs) for p in args)


def check_words(
    cmd: Any, path: str, words: list[tuple[str, bool]], parent: Any | None = None
) -> list[str]:
    """What in ``words`` (given after the command ``path``) does not fit the Click command ``cmd``."""
    problems: list[str] = []
    positionals: list[str] = []
    relaxed = False
    depth = 0
    i = 0

    def next_word(j: int) -> tuple[int, str, bool] | None:
        while j < len(words) and words[j] == ("[", False):
            j += 1
        return (j, *words[j]) if j < len(words) else None

    while i < len(words):
        word, quoted = words[i]
        i += 1
        if not quoted and word in ("[", "]"):
            depth += 1 if word == "[" else -1
            continue
        if not quoted and word == "...":
            relaxed = True
            continue
        if not quoted and word == "|":
            nxt = next_word(i)
            if nxt is None or is_option(nxt[1]):
                continue
            siblings = getattr(parent, "commands", {})
            alts = nxt[1].split("|")
            if parent is not None and all(a in siblings for a in alts):
                base = path.rsplit(" ", 1)[0]
                for alt in alts:
                    problems += check_words(siblings[alt], f"{base} {alt}", words[nxt[0] + 1:], parent)
                return problems
            break  # a shell pipe
        if not quoted and is_option(word):
            name, eq, inline = word.partition("=")
            param = find_option(cmd, name)
            if param is None and name in cmd.context_settings.get("help_option_names", ["--help"]):
                continue
            if param is None:
                problems.append(f"`{path}` has no option {name}")
                nxt = next_word(i)
                if not eq and nxt is not None and (nxt[2] or not (nxt[1] in ("]", "|") or is_option(nxt[1]))):
                    depth += nxt[0] - i
                    i = nxt[0] + 1  # its value, if it has one, is not a positional word
                continue
            if not takes_value(param):
                if eq:
                    problems.append(f"`{path}` {name} is a flag; it takes no value ({word})")
                continue
            if eq:
                values = [inline]
            else:
                values = []
                for _ in range(max(param.nargs, 1)):
                    nxt = next_word(i)
                    if nxt is None or (not nxt[2] and (nxt[1] in ("]", "|") or is_option(nxt[1]))):
                        problems.append(f"`{path}` {name} needs a value")
                        break
                    values.append(nxt[1])
                    depth += nxt[0] - i  # the "[" before the value
                    i = nxt[0] + 1
            for value in values:
                why = bad_value(param, value)
                if why:
                    problems.append(f"`{path}` {name}: {why}")
            continue
        subcommands = getattr(cmd, "commands", None)
        if subcommands is not None and not quoted:
            alts = word.split("|")
            missing = [a for a in alts if a not in subcommands]
            if missing:
                problems += [f"`{path}` has no subcommand {a!r}" for a in missing]
                return problems
            for alt in alts:
                problems += check_words(subcommands[alt], f"{path} {alt}", words[i:], cmd)
            return problems
        if depth > 0 and not quoted and re.fullmatch(r"[A-Z][A-Z0-9_]*", word):
            relaxed = True  # [FLAGS]
            continue
        positionals.append(word)
    limit = max_positionals(cmd)
    if not relaxed and limit is not None and len(positionals) > limit and not any(
        w.endswith("...") for w in positionals
    ):
        problems.append(f"`{path}` takes {limit} positional argument(s), given {len(positionals)}: "
                        + " ".join(positionals))
    return problems


def split_brackets(words: tuple[tuple[str, bool], ...]) -> list[tuple[str, bool]]:
    """``[`` and ``]`` around unquoted words as words of their own."""
    out: list[tuple[str, bool]] = []
    for word, quoted in words:
        if quoted:
            out.append((word, quoted))
            continue
        lead = len(word) - len(word.lstrip("["))
        core = word.lstrip("[")
        trail = len(core) - len(core.rstrip("]"))
        core = core.rstrip("]")
        out += [("[", False)] * lead + ([(core, False)] if core else []) + [("]", False)] * trail
    return out


def variants(command: DocCommand) -> list[list[tuple[str, bool]]]:
    """The command's words, once per value of each ``S = 0, 1, 2`` placeholder in its comment."""
    words = split_brackets(command.words)
    defs = [(name, values.split(", ")) for name, values in PLACEHOLDER_DEF.findall(command.comment)]
    defs = [(name, values) for name, values in defs if (name, False) in words]
    if not defs:
        return [words]
    out: list[list[tuple[str, bool]]] = []
    for combo in itertools.product(*(values for _, values in defs)):
        subst = dict(zip((name for name, _ in defs), combo, strict=True))
        out.append([(w if q else subst.get(w, w), q) for w, q in words])
    return out


def check_command(root: Any, command: DocCommand) -> list[str]:
    """``file:line: problem (command)`` for each problem of a doc command."""
    if command.comment.lower().startswith(USAGE_ERROR):
        return []
    problems: list[str] = []
    for words in variants(command):
        for problem in check_words(root, "assetgrade", words):
            line = f"{command.where}: {problem}  [{command.text}]"
            if line not in problems:
                problems.append(line)
    return problems


def doc_commands(path: Path) -> list[DocCommand]:
    return commands_in_markdown(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_doc_commands_match_cli(doc: Path) -> None:
    problems = [p for command in doc_commands(doc) for p in check_command(CLI, command)]
    assert not problems, "doc commands that do not match the CLI:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_command_in_the_doc_is_found(doc: Path) -> None:
    """At least one command per code span and per code-block line that start ``assetgrade``.

    Counted on the raw text, so an extractor that misses commands (and so passes them) fails here.
    """
    text = doc.read_text(encoding="utf-8")
    spans = len(re.findall(r"`assetgrade [a-z]", text))
    in_fence, code_lines = False, 0
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif in_fence and re.match(r"\s*(\$ )?assetgrade [a-z]", line):
            code_lines += 1
    assert len(doc_commands(doc)) >= spans + code_lines


EXAMPLE_MD = """\
Run `assetgrade audit
verify -w WS` first; `assetgrade.review.suggest` is a module, `make demo` not ours.

```bash
$ assetgrade bench text --task normalize \\
    --json out.json > log.txt   # S = 0, 1
for m in a b; do assetgrade evaluate -w /tmp/$m; done
TOKEN=agt_...   # from `assetgrade tokens create --name a`
X=1 assetgrade serve | tee log
pip install assetgrade
```

| cmd |
| --- |
| `assetgrade models list --status a\\|b` |
"""


def test_extracts_code_lines_spans_and_table_cells() -> None:
    found = [(c.where, c.text, c.comment) for c in commands_in_markdown(EXAMPLE_MD, "x.md")]
    assert found == [
        ("x.md:1", "assetgrade audit verify -w WS", ""),
        ("x.md:5", "assetgrade bench text --task normalize --json out.json", "S = 0, 1"),
        ("x.md:7", "assetgrade evaluate -w /tmp/$m", ""),
        ("x.md:8", "assetgrade tokens create --name a", ""),
        ("x.md:9", "assetgrade serve | tee log", ""),
        ("x.md:15", "assetgrade models list --status a|b", ""),
    ]


def _choice_app() -> Any:
    app = typer.Typer()

    @app.command()
    def run(mode: Literal["fast", "slow"] = "fast", n: int = 1, flag: bool = False) -> None:
        """A command with a choice, a number and a flag."""

    @app.command()
    def other() -> None:
        """A second command, so ``run`` stays a subcommand."""

    return typer.main.get_command(app)


CHOICE_CLI = _choice_app()


@pytest.mark.parametrize(
    ("root", "line", "expected"),
    [
        (CLI, "assetgrade bench text --task normalize --no-such-option 3", "has no option --no-such-option"),
        (CLI, "assetgrade bench textt --task normalize", "has no subcommand 'textt'"),
        (CLI, "assetgrade config show|gett -w WS", "has no subcommand 'gett'"),
        (CLI, "assetgrade audit verify -w", "-w needs a value"),
        (CLI, "assetgrade bench fusion --seed S --json F  # S = 0, x", "--seed: 'x' is not a number"),
        (CLI, "assetgrade grade ASSET_ID OTHER_ID EXTRA -w WS", "takes 1 positional argument(s), given 3"),
        (CLI, "assetgrade ontology check FILE | shwo", ""),  # a shell pipe: dropped
        (CHOICE_CLI, "assetgrade run --mode fast|medium", "--mode: 'medium' is not one of fast, slow"),
        (CHOICE_CLI, "assetgrade run --mode=medium", "--mode: 'medium' is not one of fast, slow"),
        (CHOICE_CLI, "assetgrade run --flag yes", "takes 0 positional argument(s), given 1: yes"),
        (CHOICE_CLI, "assetgrade run --mode slow [--n N] [--flag] --help", ""),
        (CHOICE_CLI, "assetgrade run --n [N] [FLAGS]", ""),
        (CHOICE_CLI, "assetgrade run --mode medium   # usage error: shown with its message", ""),
    ],
)
def test_checker_flags_what_the_cli_lacks(root: Any, line: str, expected: str) -> None:
    [command] = commands_in_line(line, "t.md:1")
    problems = check_command(root, command)
    if expected:
        assert len(problems) == 1 and expected in problems[0] and problems[0].startswith("t.md:1: "), problems
    else:
        assert problems == []
