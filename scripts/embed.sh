#!/bin/sh
# Print a C file that defines a NUL-terminated char array NAME holding FILE.
# Usage: embed.sh NAME FILE
set -eu
name=$1
file=$2
printf '/* Generated from %s; do not edit. */\n' "$file"
printf '#include <stddef.h>\n'
printf 'const char %s[] = {\n' "$name"
xxd -i < "$file"
printf ', 0x00\n};\n'
printf 'const size_t %s_len = sizeof(%s) - 1;\n' "$name" "$name"
