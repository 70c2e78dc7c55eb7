"""Web plumbing shared by controllers: session store, session rotation, security headers, locale."""
