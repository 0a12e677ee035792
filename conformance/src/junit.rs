//! A JUnit XML file of [`Record`]s, for CI systems: one `<testsuite>` per catalogue group, one
//! `<testcase>` per scenario, `<failure>` and `<skipped>` as the verdict says.

use crate::run::{Record, Verdict};
use crate::scenario::Group;

/// Escapes text for XML content and attribute values; characters XML 1.0 cannot hold become
/// U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            // XML 1.0 holds neither C0 controls nor the noncharacters U+FFFE and U+FFFF.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document.
pub fn render(suite: &str, records: &[Record]) -> String {
    let count = |records: &[&Record], pick: fn(&Verdict) -> bool| {
        records.iter().filter(|r| pick(&r.verdict)).count()
    };
    let all: Vec<&Record> = records.iter().collect();
    let failures = count(&all, |v| matches!(v, Verdict::Fail(_)));
    let skipped = count(&all, |v| {
        matches!(v, Verdict::Skipped(_) | Verdict::NotApplicable(_))
    });
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n",
        escape(suite),
        records.len()
    );
    for group in Group::ALL {
        let members: Vec<&Record> = records
            .iter()
            .filter(|r| r.scenario.group() == group)
            .collect();
        if members.is_empty() {
            continue;
        }
        xml.push_str(&format!(
            "  <testsuite name=\"{} {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
            group.letter(),
            escape(group.title()),
            members.len(),
            count(&members, |v| matches!(v, Verdict::Fail(_))),
            count(&members, |v| matches!(v, Verdict::Skipped(_) | Verdict::NotApplicable(_))),
        ));
        for record in members {
            let scenario = record.scenario;
            xml.push_str(&format!(
                "    <testcase classname=\"{}.{}\" name=\"{}\">\n",
                escape(suite),
                group.letter(),
                escape(&scenario.name())
            ));
            match &record.verdict {
                Verdict::Pass(observed) => xml.push_str(&format!(
                    "      <system-out>{}</system-out>\n",
                    escape(observed)
                )),
                Verdict::Fail(why) => xml.push_str(&format!(
                    "      <failure message=\"{}\">expected: {}\n{}: {}\ngot: {}</failure>\n",
                    escape(why),
                    escape(scenario.expected),
                    escape(scenario.id),
                    escape(scenario.clause),
                    escape(why)
                )),
                // Refused, but not as the RFC says: a passed case, with the note in its output.
                Verdict::Warn(why) => xml.push_str(&format!(
                    "      <system-out>WARN: {}</system-out>\n",
                    escape(why)
                )),
                Verdict::Skipped(why) => {
                    xml.push_str(&format!("      <skipped message=\"{}\"/>\n", escape(why)))
                }
                Verdict::NotApplicable(why) => xml.push_str(&format!(
                    "      <skipped message=\"not applicable: {}\"/>\n",
                    escape(why)
                )),
            }
            xml.push_str("    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// The JUnit XML document of a check that could not run: one test case in error, so that a CI
/// gate reading only the JUnit file sees it fail too.
pub fn render_error(suite: &str, message: &str) -> String {
    let suite = escape(suite);
    let message = escape(message);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{suite}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n  <testsuite name=\"check\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase classname=\"{suite}.check\" name=\"the application can be checked\">\n      <error message=\"{message}\">{message}</error>\n    </testcase>\n  </testsuite>\n</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::find;

    #[test]
    fn a_check_that_could_not_run_is_an_error_case() {
        let xml = render_error("s", "nothing listens at http://a <here>");
        assert!(xml.contains("errors=\"1\""), "{xml}");
        assert!(xml.contains("<error message=\"nothing listens at http://a &lt;here&gt;\">"));
        assert_eq!(escape("a\u{FFFE}b\u{FFFF}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn verdicts_become_testcases_with_escaped_text() {
        let records = vec![
            Record::new(find("B-01").unwrap(), Verdict::Pass("200 <ok>".into())),
            Record::new(
                find("D-01").unwrap(),
                Verdict::Fail("got 200 & \"accepted\"\u{1}".into()),
            ),
            Record::new(find("B-15").unwrap(), Verdict::Skipped("no route".into())),
            Record::new(
                find("B-03").unwrap(),
                Verdict::Warn("refused with 401, but no challenge".into()),
            ),
        ];
        let xml = render("suite", &records);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"suite\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\">"), "{xml}");
        assert!(xml.contains("<testsuite name=\"B Client API flow: bearer token on a protected route\" tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"1\">"), "{xml}");
        assert!(xml.contains("<system-out>200 &lt;ok&gt;</system-out>"));
        assert!(xml.contains("<failure message=\"got 200 &amp; &quot;accepted&quot;\u{FFFD}\">"));
        assert!(xml.contains("<skipped message=\"no route\"/>"));
        assert!(xml.contains("<system-out>WARN: refused with 401, but no challenge</system-out>"));
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("</testcase>").count(), 4);
    }
}
