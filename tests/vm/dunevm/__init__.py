"""Library behind tests/vm/run and tests/vm/conformance (see README.md)."""
