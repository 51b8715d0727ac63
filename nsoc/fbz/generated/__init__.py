"""FlatBuffers Python code generated from nsoc/fbz/nsoc.fbs (flatc version 25.12.19); do not edit.

Regenerate with tools/regen_fbz.sh.
"""
