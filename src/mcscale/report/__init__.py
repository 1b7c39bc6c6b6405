"""Reports: self-contained HTML pages of a scenario or a comparison."""
