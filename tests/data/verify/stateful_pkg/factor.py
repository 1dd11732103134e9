"""A constant in a sibling module, reached by a package-relative import."""
TWO = 2
