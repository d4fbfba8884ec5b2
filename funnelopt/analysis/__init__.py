"""Analyses of a solved scenario: sensitivity, diagnosis of infeasible goals, strategies."""
