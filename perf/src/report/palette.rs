//! Colours of the contenders, the same in every chart.

/// The colour of each known contender.
const KNOWN: [(&str, &str); 7] = [
    ("ours", "#1f5fbf"),
    ("ours-before", "#9b6fc2"),
    ("ours-epoll", "#7ea6e0"),
    ("nginx", "#2e9e44"),
    ("haproxy", "#e8871e"),
    ("go", "#00a4c7"),
    ("direct", "#8c8c8c"),
];

/// Colours for other contenders, handed out in the order they first appear.
const OTHERS: [&str; 5] = ["#9467bd", "#8c564b", "#d6589f", "#bcbd22", "#5c5c5c"];

/// The known contenders in legend order.
pub(super) fn known_order(contender: &str) -> usize {
    KNOWN
        .iter()
        .position(|(name, _)| *name == contender)
        .unwrap_or(KNOWN.len())
}

/// A contender's colour; `others_seen` is how many unknown contenders were coloured before it.
pub(super) fn colour(contender: &str, others_seen: usize) -> &'static str {
    KNOWN
        .iter()
        .find(|(name, _)| *name == contender)
        .map_or(OTHERS[others_seen % OTHERS.len()], |(_, colour)| colour)
}

/// The colour of every contender in `names` (in that order), unknown ones numbered by first appearance.
pub(super) fn assign<'a>(names: &[&'a str]) -> Vec<(&'a str, &'static str)> {
    let mut others = 0;
    names
        .iter()
        .map(|name| {
            let c = colour(name, others);
            if known_order(name) == KNOWN.len() {
                others += 1;
            }
            (*name, c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_contenders_keep_their_colour_and_others_differ() {
        let colours = assign(&["zeta", "nginx", "ours", "eta"]);
        assert_eq!(colours[1], ("nginx", "#2e9e44"));
        assert_eq!(colours[2], ("ours", "#1f5fbf"));
        assert_ne!(colours[0].1, colours[3].1);
    }
}
