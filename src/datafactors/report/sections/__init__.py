"""One module per report section, named for the section it draws; each renders stored tables only."""
