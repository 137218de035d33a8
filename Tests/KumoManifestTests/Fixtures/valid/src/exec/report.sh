#!/bin/sh
# Reads the event JSON on stdin and writes the result on stdout.
cat >/dev/null
echo '{"report": "done"}'
