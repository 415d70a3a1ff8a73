#!/usr/bin/env python3
"""Applies or checks one hand mutant (a .mutant file) against the tree at the current directory.

Format of a mutant file:
    mechanism: what the mutant removes (one line)
    filter: the dotnet test filter whose tests must fail with the mutant applied
    @@@ path/to/File.cs
    @@ find
    <exact lines, as in the source>
    @@ replace
    <lines put in their place>
    (more @@@ blocks for mutants that touch several places)

Each find text must occur exactly once in its file; otherwise the mutant no longer applies to the code (a refactor
moved it) and this exits with status 3, naming the file and the text, so the mutant gets updated with the code.
Usage: apply.py MUTANT --check | --apply | --field NAME
"""
import sys


def parse(path):
    fields, hunks, current, section = {}, [], None, None
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n"):
            if line.startswith("@@@ "):
                current = {"file": line[4:].strip(), "find": [], "replace": []}
                hunks.append(current)
                section = None
            elif line == "@@ find" or line == "@@ replace":
                section = line[3:]
            elif current is not None and section is not None:
                current[section].append(line)
            elif ":" in line and current is None:
                name, value = line.split(":", 1)
                fields[name.strip()] = value.strip()
    for hunk in hunks:
        for part in ("find", "replace"):
            while hunk[part] and hunk[part][-1] == "":
                hunk[part].pop()
            hunk[part] = "\n".join(hunk[part]) + "\n"
    return fields, hunks


def main():
    mutant, mode = sys.argv[1], sys.argv[2]
    fields, hunks = parse(mutant)
    if mode == "--field":
        print(fields.get(sys.argv[3], ""))
        return 0
    if not hunks or "filter" not in fields or "mechanism" not in fields:
        print(f"{mutant}: malformed (needs mechanism, filter and at least one @@@ block)", file=sys.stderr)
        return 3
    texts = {}
    for hunk in hunks:
        try:
            text = texts.get(hunk["file"]) or open(hunk["file"], encoding="utf-8").read()
        except FileNotFoundError:
            print(f"{mutant}: DOES NOT APPLY: {hunk['file']} no longer exists", file=sys.stderr)
            return 3
        count = text.count(hunk["find"])
        if count != 1:
            print(f"{mutant}: DOES NOT APPLY: found {count} times (need exactly 1) in {hunk['file']}:\n{hunk['find']}", file=sys.stderr)
            return 3
        texts[hunk["file"]] = text.replace(hunk["find"], hunk["replace"])
    if mode == "--apply":
        for path, text in texts.items():
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    elif mode == "--files":
        print("\n".join(texts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
