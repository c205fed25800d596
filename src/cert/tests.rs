use super::*;

#[test]
fn every_automated_scenario_passes_against_the_simulator() {
    let mut failed = Vec::new();
    for s in scenarios() {
        let r = run(&s, false);
        if s.run.is_some() {
            if r.outcome != Outcome::Pass || !r.checks.iter().all(|c| c.ok) {
                let lines: Vec<_> = r.lines.iter().map(|l| l.text.clone()).collect();
                failed.push(format!("{}: {:?}\n{}", s.name, r.outcome, lines.join("\n")));
            }
        } else {
            assert_eq!(r.outcome, Outcome::Skipped("not yet automated".into()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

#[test]
fn no_ilink3_scenario_is_skipped() {
    let all = scenarios();
    let ilink3: Vec<_> = all
        .iter()
        .filter(|s| s.suite.starts_with("iLink 3"))
        .collect();
    assert_eq!(ilink3.len(), 28, "CERTIFICATION.md sections 1.1 and 1.2");
    let skipped: Vec<_> = ilink3
        .iter()
        .filter(|s| s.run.is_none())
        .map(|s| s.name)
        .collect();
    assert!(skipped.is_empty(), "not automated: {skipped:?}");
    // Each names a fault its checks catch.
    for s in ilink3 {
        let (t, field) = s.breaks;
        assert!(
            message_name(t) != "?" && !field.is_empty(),
            "{}: break ({t}, {field:?})",
            s.name
        );
    }
}

#[test]
fn break_fails_exactly_that_scenario_naming_message_and_field() {
    let mut wrong = Vec::new();
    for s in scenarios().into_iter().filter(|s| s.run.is_some()) {
        let r = run(&s, true);
        let (t, field) = s.breaks;
        let msg = message_name(t);
        match r.outcome {
            Outcome::Fail(why) if why.contains(msg) && why.contains(field) => {}
            o => wrong.push(format!("{}: broken {msg}.{field} but {o:?}", s.name)),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn render_prints_the_message_name_and_set_fields() {
    let mut ctx = Ctx::new(None);
    ctx.connect(ConnectMode::NewUuid).unwrap();
    assert!(ctx.lines[0].text.starts_with("Negotiate500 "));
    assert!(
        ctx.lines[0].text.contains("Firm=007"),
        "{}",
        ctx.lines[0].text
    );
}
