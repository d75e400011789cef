//! The frame of every page: head (the hashed CSS and script), a skip link, the navigation
//! and the sign-out form, then the page's own content in `<main>`.

use maud::{html, Markup, DOCTYPE};

use crate::session::Viewer;
use crate::WebState;

/// Which navigation entry is current (`aria-current="page"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Runs,
    Jobs,
    None,
}

/// A whole page for a signed-in viewer.
pub fn page(
    state: &WebState,
    viewer: &Viewer,
    section: Section,
    title: &str,
    content: Markup,
) -> Markup {
    frame(state, title, Some((viewer, section)), &[], content)
}

/// A whole page that also links its own embedded files (`&["run.css", "run.js"]`).
pub fn page_with(
    state: &WebState,
    viewer: &Viewer,
    section: Section,
    title: &str,
    own_assets: &[&str],
    content: Markup,
) -> Markup {
    frame(state, title, Some((viewer, section)), own_assets, content)
}

/// A whole page for nobody in particular (sign-in, errors).
pub fn bare(state: &WebState, title: &str, content: Markup) -> Markup {
    frame(state, title, None, &[], content)
}

fn frame(
    state: &WebState,
    title: &str,
    viewer: Option<(&Viewer, Section)>,
    own_assets: &[&str],
    content: Markup,
) -> Markup {
    let assets = &state.inner.assets;
    let linked: Vec<(&str, String)> = ["app.css", "app.js"]
        .iter()
        .chain(own_assets)
        .filter_map(|logical| assets.href(logical).map(|href| (*logical, href)))
        .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Specline" }
                @for (logical, href) in &linked {
                    @if logical.ends_with(".css") {
                        link rel="stylesheet" href=(href);
                    } @else {
                        script src=(href) defer {}
                    }
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Specline" }
                    @if let Some((viewer, section)) = viewer {
                        nav aria-label="Main" {
                            ul {
                                (nav_item("/", "Home", section == Section::Home))
                                (nav_item("/runs", "Runs", section == Section::Runs))
                                @if viewer.is_admin() {
                                    (nav_item("/admin/jobs", "Jobs", section == Section::Jobs))
                                }
                            }
                        }
                        div.who {
                            span.owner title="Signed in as" { (viewer.owner()) }
                            @if !viewer.gateway {
                                form method="post" action="/sign-out" {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (content) }
            }
        }
    }
}

fn nav_item(href: &str, label: &str, current: bool) -> Markup {
    html! {
        li {
            @if current {
                a href=(href) aria-current="page" { (label) }
            } @else {
                a href=(href) { (label) }
            }
        }
    }
}
