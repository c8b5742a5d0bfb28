#!/usr/bin/env bash
# Check the C sources: clang-format in check mode, then what the formatter
# cannot see (see STYLE.md):
#
#   - banned calls: sprintf, vsprintf, strcpy, strcat, strtok, atoi, atol,
#     gmtime, localtime, gets, system, popen
#   - // comments
#   - direct allocation (malloc, calloc, realloc, strdup, ...) outside
#     lib/alloc.c: use the fl_ wrappers, which never return NULL
#   - shortcoming marks: FIXME and XXX never; TODO only as
#     "TODO: what is missing, and why", in at least five words
#
# Usage: scripts/lint.sh [FILE...]
# Without arguments: every tracked or present *.c and *.h under lib/,
# operator/, sidecar/, cli/, tests/unit/ and fuzz/, except build output
# and generated files (those that say "do not edit" in their first lines).
# Prints file:line: message for each finding; exits 1 if there is any.
set -euo pipefail

cd "$(dirname "$0")/.."

DIRS=(lib operator sidecar cli tests/unit fuzz)

list_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -co --exclude-standard -- "${DIRS[@]}"
	else
		find "${DIRS[@]}" -type f 2>/dev/null
	fi |
		grep -E '\.[ch]$' |
		grep -Ev '(^|/)build(-[^/]*)?/' |
		sort -u
}

files=()
if [ $# -gt 0 ]; then
	files=("$@")
else
	while IFS= read -r f; do
		[ -f "$f" ] || continue
		head -n 3 "$f" | grep -qi 'do not edit' && continue
		files+=("$f")
	done < <(list_files)
fi

if [ ${#files[@]} -eq 0 ]; then
	echo "lint: no C files to check"
	exit 0
fi

if ! command -v clang-format >/dev/null; then
	echo "lint: clang-format not found (apt-get install clang-format)" >&2
	exit 2
fi

status=0
if ! clang-format --dry-run --Werror "${files[@]}" 2>&1; then
	echo "lint: formatting differs; run: clang-format -i FILE"
	status=1
fi

python3 - "${files[@]}" <<'EOF' || status=1
import bisect
import re
import sys

BANNED = ("sprintf vsprintf strcpy strcat strtok atoi atol gmtime localtime "
          "gets system popen").split()
ALLOC = "malloc calloc realloc reallocarray strdup strndup asprintf vasprintf"
ALLOC_OK = {"lib/alloc.c"}
TODO_MIN_WORDS = 5

# A call: the name as a whole word, not a member (x.name, p->name),
# followed by an opening parenthesis.
banned_re = re.compile(r"(?<![\w.])(?<!->)(%s)\s*\(" % "|".join(BANNED))
alloc_re = re.compile(r"(?<![\w.])(?<!->)(%s)\s*\(" % ALLOC.replace(" ", "|"))
mark_re = re.compile(r"\b(TODO|FIXME|XXX)\b")
word_re = re.compile(r"[A-Za-z][A-Za-z'-]*")


def lex(text):
    """Splits C text into code (string and character literals and comments
    blanked, newlines kept), block comments as (offset, text), and the
    offsets of // comments."""
    code = []
    comments = []
    line_comments = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        two = text[i:i + 2]
        if two == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            comments.append((i, text[i:end]))
            code.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif two == "//":
            end = text.find("\n", i)
            end = n if end < 0 else end
            line_comments.append(i)
            comments.append((i, text[i:end]))
            code.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            code.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            code.append(c)
            i += 1
    return "".join(code), comments, line_comments


def check_marks(comment, at, report):
    for m in mark_re.finditer(comment):
        pos = at + m.start()
        if m.group(1) != "TODO":
            report(pos, "%s is not allowed: write 'TODO: what is missing, "
                   "and why'" % m.group(1))
            continue
        rest = comment[m.end():]
        if not rest.startswith(": "):
            report(pos, "write a shortcoming as 'TODO: what is missing, "
                   "and why' (no name, no issue number)")
            continue
        rest = re.sub(r"\*/\s*$", "", rest)
        words = word_re.findall(re.sub(r"\n\s*\*", " ", rest))
        if len(words) < TODO_MIN_WORDS:
            report(pos, "TODO says too little: say what is missing and why "
                   "(at least %d words)" % TODO_MIN_WORDS)


def check(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        print("%s: cannot read: %s" % (path, e.strerror))
        return 1
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    found = []

    def report(pos, msg):
        found.append((pos, bisect.bisect_right(starts, pos), msg))

    code, comments, line_comments = lex(text)
    for pos in line_comments:
        report(pos, "// comment: use /* */")
    for m in banned_re.finditer(code):
        report(m.start(1), "banned call %s()" % m.group(1))
    if path not in ALLOC_OK:
        for m in alloc_re.finditer(code):
            report(m.start(1), "unchecked allocation %s(): use the fl_ "
                   "wrappers in lib/alloc.h" % m.group(1))
    for at, comment in comments:
        check_marks(comment, at, report)
    for _, line, msg in sorted(found):
        print("%s:%d: %s" % (path, line, msg))
    return len(found)


problems = sum(check(p) for p in sys.argv[1:])
if problems:
    print("lint: %d problem%s" % (problems, "" if problems == 1 else "s"),
          file=sys.stderr)
    sys.exit(1)
EOF

exit $status
