"""The Django admin's executions changelist on a table of 1,000,000 executions."""
