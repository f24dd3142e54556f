"""Development sets generated from the bundled clips (output git-ignored, under var/)."""
