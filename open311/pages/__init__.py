"""What the HTML interfaces share (the resident site and the staff console): the CSRF
token of their forms and typed gettext. Neither imports the other; both import this."""
