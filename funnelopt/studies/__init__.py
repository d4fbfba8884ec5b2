"""Studies: questions answered by calling optimize() many times (sweeps; later what-if,
frontier, uncertainty and re-planning)."""
