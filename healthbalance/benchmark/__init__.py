"""Compare training strategies side by side per group (``healthbalance benchmark``)."""

from healthbalance.benchmark._bottom_line import bottom_line
from healthbalance.benchmark._checks import run_checks, summary_table
from healthbalance.benchmark._html import write_html_report
from healthbalance.benchmark._leakage import LeakageError
from healthbalance.benchmark._run import BenchmarkResults, run_benchmark
from healthbalance.benchmark._strategies import STRATEGIES

__all__ = [
    "STRATEGIES",
    "BenchmarkResults",
    "LeakageError",
    "bottom_line",
    "run_benchmark",
    "run_checks",
    "summary_table",
    "write_html_report",
]
