"""Core's pages, one module per use: the health check (``health``), the
sign-in pages of a password login and the logout (``signin``), the start
page and help (``home``), the language switch (``language``), and the error
pages (``errors``)."""
