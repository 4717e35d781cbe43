"""The fault vocabulary, grudges, schedules, and the capability protocols backends implement."""
