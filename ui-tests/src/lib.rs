//! trybuild cases live under `tests/ui`.
