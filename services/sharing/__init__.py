"""The sharing service: the semester sharing lists of the province and cross-school adoption."""
