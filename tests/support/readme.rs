//! The shell block of a README's getting-started section, and the output it
//! says it prints, for the tests that run it as written.

use std::path::Path;

/// The shell block between `<!-- getting-started -->` and
/// `<!-- /getting-started -->` in the Markdown file `readme`, without its fences.
pub fn getting_started(readme: &Path) -> String {
    let text = std::fs::read_to_string(readme).unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
    let block = text
        .split("<!-- getting-started -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /getting-started -->").next())
        .unwrap_or_else(|| panic!("{} has no getting-started block", readme.display()));
    let block = block.trim();
    let block = block
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .unwrap_or_else(|| panic!("{}: the getting-started block is not one ```sh block", readme.display()));
    block.to_owned()
}

/// What the block says it prints: its lines that are whole comments
/// (outside heredocs).
pub fn expected_output(script: &str) -> Vec<String> {
    let mut in_heredoc = false;
    let mut lines = Vec::new();
    for line in script.lines() {
        if in_heredoc {
            in_heredoc = line != "EOF";
        } else if line.contains("<<'EOF'") {
            in_heredoc = true;
        } else if let Some(comment) = line.strip_prefix("# ") {
            lines.push(comment.to_owned());
        }
    }
    lines
}
