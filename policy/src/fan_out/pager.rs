//! Where a merged list's page ends. Namespaces are read in order, a page of each at a time; with the caller's
//! `limit` the answer holds at most that many entries (fewer is allowed, as kube-apiserver allows it), and ends
//! with a token that resumes inside the namespace it stopped in, or at the start of the next one.
//!
//! Namespaces after the current one are asked ahead of time (with the caller's `limit`, their first page); a
//! page asked ahead that no longer fits is dropped and asked again from the next answer on.

/// What to do with one namespace's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStep {
    /// Write its entries, then ask the same namespace for its next page with this `limit`.
    TakeThenMore {
        /// The next page's `limit`.
        limit: usize,
    },
    /// Write its entries, then go on with the next namespace.
    TakeThenNext,
    /// Write its entries and end the answer; it resumes inside this namespace (with its continue token).
    TakeThenStopHere,
    /// Write its entries and end the answer; it resumes at the next namespace (no token after the last one).
    TakeThenStopAtNext,
    /// Do not write it and end the answer; it resumes at the start of this namespace.
    StopBefore,
}

/// The paging of one merged answer.
#[derive(Debug, Clone)]
pub struct Pager {
    limit: Option<usize>,
    page_size: usize,
    taken: usize,
}

impl Pager {
    /// The paging of an answer with the caller's `limit` (none or 0: everything, read `page_size` entries of a
    /// namespace at a time).
    pub fn new(limit: Option<usize>, page_size: usize) -> Self {
        Self {
            limit: limit.filter(|&l| l > 0),
            page_size: page_size.max(1),
            taken: 0,
        }
    }

    /// The `limit` a namespace's first page is asked with.
    pub fn first_page_limit(&self) -> usize {
        self.limit.unwrap_or(self.page_size)
    }

    /// Entries taken so far.
    pub fn taken(&self) -> usize {
        self.taken
    }

    /// What to do with a page of `count` entries, `more` when the namespace has more pages after it.
    pub fn on_page(&mut self, count: usize, more: bool) -> PageStep {
        let Some(limit) = self.limit else {
            self.taken += count;
            return if more {
                PageStep::TakeThenMore {
                    limit: self.page_size,
                }
            } else {
                PageStep::TakeThenNext
            };
        };
        let room = limit.saturating_sub(self.taken);
        // A page asked ahead that no longer fits waits for the next answer; the first page of an answer is
        // always taken (kube-apiserver never sends more than asked), so every answer makes progress.
        if count > room && self.taken > 0 {
            return PageStep::StopBefore;
        }
        self.taken += count;
        match (self.taken >= limit, more) {
            (true, true) => PageStep::TakeThenStopHere,
            (true, false) => PageStep::TakeThenStopAtNext,
            (false, true) => PageStep::TakeThenMore {
                limit: limit - self.taken,
            },
            (false, false) => PageStep::TakeThenNext,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_limit_everything_is_taken_a_page_at_a_time() {
        let mut pager = Pager::new(None, 500);
        assert_eq!(pager.first_page_limit(), 500);
        assert_eq!(pager.on_page(500, true), PageStep::TakeThenMore { limit: 500 });
        assert_eq!(pager.on_page(3, false), PageStep::TakeThenNext);
        assert_eq!(pager.taken(), 503);
        assert_eq!(Pager::new(Some(0), 7).first_page_limit(), 7);
    }

    #[test]
    fn a_limit_cuts_at_namespace_boundaries_or_inside_one() {
        let mut pager = Pager::new(Some(5), 500);
        assert_eq!(pager.first_page_limit(), 5);
        assert_eq!(pager.on_page(2, false), PageStep::TakeThenNext);
        assert_eq!(
            pager.on_page(4, false),
            PageStep::StopBefore,
            "asked ahead, no longer fits"
        );
        assert_eq!(pager.on_page(3, false), PageStep::TakeThenStopAtNext);
        let mut pager = Pager::new(Some(5), 500);
        assert_eq!(pager.on_page(1, true), PageStep::TakeThenMore { limit: 4 });
        assert_eq!(pager.on_page(4, true), PageStep::TakeThenStopHere);
    }
}
