"""Classical optimization test functions and the paper's benchmark protocol (Table 8)."""

from motion_recon.functions.library import FUNCTIONS, Problem, TestFunction, get_function, make_problem

__all__ = ["FUNCTIONS", "Problem", "TestFunction", "get_function", "make_problem"]
