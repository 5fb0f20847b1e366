"""Rule modules: loading, checking, expressions and triage sessions. No store, no UI."""
