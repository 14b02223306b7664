"""Item models, one per view, each with column constants, an object role and a sort role."""
