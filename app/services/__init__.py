"""Services: plain async functions per area; they know nothing of HTTP."""
