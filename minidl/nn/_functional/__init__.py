"""Parts of ``minidl.nn.functional`` kept in their own files (re-exported there)."""
