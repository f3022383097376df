"""Result -> tables and files: writers and the text summary ``archsim run`` prints."""
from archsim.report.writers import write_result
from archsim.report.summary import format_summary

__all__ = ["format_summary", "write_result"]
