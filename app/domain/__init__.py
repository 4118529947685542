"""Plain domain modules: no Flask imports. Each takes `now` as a parameter."""
