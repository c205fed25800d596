use super::*;

#[test]
fn every_scenario_is_automated_and_passes_against_the_simulator() {
    let mut failed = Vec::new();
    for s in scenarios() {
        // None of CERTIFICATION.md's scenarios is left unautomated.
        assert!(s.run.is_some(), "{} is not automated", s.name);
        let r = run(&s, false);
        if r.outcome != Outcome::Pass || !r.checks.iter().all(|c| c.ok) {
            let lines: Vec<_> = r.lines.iter().map(|l| l.text.clone()).collect();
            failed.push(format!("{}: {:?}\n{}", s.name, r.outcome, lines.join("\n")));
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
    for s in scenarios()
        .into_iter()
        .filter(|s| s.run.is_some() && s.suite != "Drop Copy 4.0")
    {
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

#[test]
fn every_drop_copy_scenario_is_automated_and_its_break_names_message_and_field() {
    let dc: Vec<_> = scenarios()
        .into_iter()
        .filter(|s| s.suite == "Drop Copy 4.0")
        .collect();
    assert_eq!(dc.len(), 9);
    let mut wrong = Vec::new();
    for s in &dc {
        assert!(s.run.is_some(), "{} not automated", s.name);
        // A Drop Copy fault reads (tag, MsgType).
        let (tag, mt) = s.breaks;
        let (msg, field) = (format!("35={mt}"), format!(": {tag} "));
        match run(s, true).outcome {
            Outcome::Fail(why) if why.contains(&msg) && why.contains(&field) => {}
            o => wrong.push(format!("{}: broken {msg} tag {tag} but {o:?}", s.name)),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn drop_copy_lines_are_fix_tag_value_with_bars() {
    let s = scenarios()
        .into_iter()
        .find(|s| s.name == "Logon Message (CGW)")
        .unwrap();
    let r = run(&s, false);
    let logon = r.lines.iter().find(|l| l.dir == Dir::Sent).unwrap();
    assert!(
        logon.text.starts_with("8=FIX.4.2|9=") && logon.text.contains("|35=A|"),
        "{}",
        logon.text
    );
    assert!(r.lines.iter().any(|l| l.dir == Dir::Received
        && l.text.contains("|35=1|")
        && l.text.contains("|112=SIMTEST1|")));
}
