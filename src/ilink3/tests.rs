//! Round-trip, robustness and error tests for the SBE codecs.

use super::*;
use proptest::prelude::*;

fn nos_frame(buf: &mut [u8]) -> usize {
    let mut w = NewOrderSingleWriter::new(buf).unwrap();
    w.set_price(Some(4_512_250_000_000))
        .set_order_qty(3)
        .set_security_id(42_424)
        .set_side(Side::Buy.code())
        .set_seq_num(7)
        .set_party_details_list_req_id(99)
        .set_order_request_id(1234)
        .set_sending_time_epoch(1_700_000_000_000_000_000)
        .set_ord_type(OrdType::Limit.code())
        .set_time_in_force(Some(TimeInForce::Day.code()))
        .set_manual_order_indicator(0);
    w.set_sender_id("TRADER1")
        .unwrap()
        .set_cl_ord_id("ORD-1")
        .unwrap()
        .set_location("US,IL")
        .unwrap();
    w.finish()
}

fn er_new_frame(buf: &mut [u8]) -> usize {
    let mut w = ExecutionReportNewWriter::new(buf).unwrap();
    w.set_seq_num(11)
        .set_uuid(0xABCD)
        .set_order_id(777)
        .set_price(4_512_250_000_000)
        .set_order_qty(3)
        .set_security_id(42_424)
        .set_side(Side::Sell.code());
    w.set_cl_ord_id("ORD-1").unwrap();
    w.finish()
}

#[test]
fn every_message_round_trips_fixed_seeds() {
    assert_eq!(ROUNDTRIPS.len(), MESSAGES.len());
    for (_, f) in ROUNDTRIPS {
        for seed in 1..8 {
            f(seed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_message_round_trips(seed in any::<u64>()) {
        for (_, f) in ROUNDTRIPS {
            f(seed);
        }
    }

    #[test]
    fn decoder_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes);
        let mut frames = Frames::new(&bytes);
        for f in frames.by_ref().flatten() {
            let _ = decode(f);
        }
        prop_assert!(frames.consumed() <= bytes.len());
    }

    #[test]
    fn every_template_decoder_survives_random_bytes(
        pick in 0usize..56,
        block in any::<u16>(),
        version in 8u16..=9,
        body in proptest::collection::vec(any::<u8>(), 0..1500),
    ) {
        // The right header for one template, then anything: the typed decoder of every
        // template sees random root blocks, group headers and var-data lengths.
        let d = &MESSAGES[pick % MESSAGES.len()];
        let bl = match block % 3 {
            0 => d.block_length as u16 + block % 64,
            1 => d.min_block_length as u16,
            _ => block % 600,
        };
        let f = raw_frame(d.template_id, bl, version, &body);
        if let Ok(m) = decode(&f) {
            prop_assert_eq!(m.template_id(), d.template_id);
            let _ = m.__read_all();
            let _ = m.poss_retrans();
        }
    }

    #[test]
    fn every_template_reads_a_longer_block_and_longer_group_entries(
        pick in 0usize..56,
        extra in 0usize..40,
        entry_extra in 0usize..12,
        counts in proptest::collection::vec(0u8..4, 3),
        seed in any::<u64>(),
    ) {
        // A newer schema's longer root block and longer group entries: known fields are read
        // where they always were, the rest is skipped by blockLength.
        let d = &MESSAGES[pick % MESSAGES.len()];
        let mut rng = codec::testing::Rng::new(seed);
        let mut fill = |n: usize| (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>();
        let root = fill(d.block_length + extra);
        let mut body = root.clone();
        let mut entries = Vec::new();
        for (g, &n) in d.groups.iter().zip(&counts) {
            let bl = g.block_length + entry_extra;
            body.extend_from_slice(&(bl as u16).to_le_bytes());
            body.push(n);
            for _ in 0..n {
                let e = fill(bl);
                body.extend_from_slice(&e);
                entries.push(e);
            }
        }
        body.resize(body.len() + 2 * d.var_data.len(), 0);
        let long = raw_frame(d.template_id, root.len() as u16, 9, &body);
        // The same message as our writers lay it out: exact block and entry lengths.
        let mut exact = root[..d.block_length].to_vec();
        let mut it = entries.iter();
        for (g, &n) in d.groups.iter().zip(&counts) {
            exact.extend_from_slice(&(g.block_length as u16).to_le_bytes());
            exact.push(n);
            for _ in 0..n {
                exact.extend_from_slice(&it.next().unwrap()[..g.block_length]);
            }
        }
        exact.resize(exact.len() + 2 * d.var_data.len(), 0);
        let exact = raw_frame(d.template_id, d.block_length as u16, 9, &exact);
        let a = decode(&long).unwrap();
        let b = decode(&exact).unwrap();
        prop_assert_eq!(a.__read_all(), b.__read_all());
        prop_assert_eq!(a.poss_retrans(), b.poss_retrans());
    }

    #[test]
    fn decoder_never_panics_on_mutated_frames(
        pick in 0usize..56,
        seed in any::<u64>(),
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
        cut in any::<u16>(),
    ) {
        // A valid frame with a few bytes changed (headers included) and maybe cut short.
        let frame = sample_frame(pick, seed);
        let mut bytes = frame.clone();
        for (at, v) in flips {
            let i = usize::from(at) % bytes.len();
            bytes[i] = v;
        }
        let cut = usize::from(cut) % (bytes.len() + 1);
        for b in [&bytes[..], &bytes[..cut], &frame[..cut]] {
            if let Ok(m) = decode(b) {
                // Reading every field and group entry must stay in bounds too.
                let _ = m.__read_all();
                let _ = m.poss_retrans();
            }
            for f in Frames::new(b).flatten() {
                let _ = decode(f);
            }
        }
    }
}

/// SOFH + SBE header (given blockLength and version) + `body`.
fn raw_frame(template: u16, block: u16, version: u16, body: &[u8]) -> Vec<u8> {
    let total = (FRAME_HEADER_LEN + body.len()) as u16;
    let mut f = Vec::with_capacity(usize::from(total));
    for v in [
        total,
        SBE_ENCODING_TYPE,
        block,
        template,
        SCHEMA_ID,
        version,
    ] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(body);
    f
}

/// A valid frame of the `pick`-th supported message: header, a zeroed root block of the version
/// 9 size, each repeating group with a generated count of zeroed entries, empty var data.
fn sample_frame(pick: usize, seed: u64) -> Vec<u8> {
    let desc = &MESSAGES[pick % MESSAGES.len()];
    let mut body = vec![0u8; desc.block_length];
    for (i, g) in desc.groups.iter().enumerate() {
        let n = ((seed >> (2 * i)) % 3) as u8;
        body.extend_from_slice(&(g.block_length as u16).to_le_bytes());
        body.push(n);
        body.resize(body.len() + usize::from(n) * g.block_length, 0);
    }
    body.resize(body.len() + 2 * desc.var_data.len(), 0);
    let total = FRAME_HEADER_LEN + body.len();
    let mut h = [0u8; FRAME_HEADER_LEN];
    codec::put_frame_header(
        &mut h,
        total as u16,
        desc.block_length as u16,
        desc.template_id,
    );
    let mut buf = h.to_vec();
    buf.extend_from_slice(&body);
    buf
}

#[test]
fn sample_frames_decode() {
    for (i, desc) in MESSAGES.iter().enumerate() {
        let f = sample_frame(i, 5);
        let m = decode(&f).unwrap();
        assert_eq!(m.template_id(), desc.template_id);
    }
}

#[test]
fn new_order_single_reads_back() {
    let mut buf = [0u8; 256];
    let len = nos_frame(&mut buf);
    assert_eq!(len, FRAME_HEADER_LEN + 132);
    assert_eq!(
        &buf[..4],
        &[(len & 0xff) as u8, (len >> 8) as u8, 0xFE, 0xCA]
    );
    let m = NewOrderSingle::decode(&buf[..len]).unwrap();
    assert_eq!(m.cl_ord_id(), "ORD-1");
    assert_eq!(m.cl_ord_id().as_str(), Some("ORD-1"));
    assert_eq!(m.price(), Some(4_512_250_000_000));
    assert_eq!(m.stop_px(), None, "unset optional price is null");
    assert_eq!(&buf[FRAME_HEADER_LEN + 85..][..8], &i64::MAX.to_le_bytes());
    assert_eq!(m.min_qty(), None);
    assert_eq!(m.expire_date(), None);
    assert_eq!(Side::from_code(m.side()), Some(Side::Buy));
    assert_eq!(OrdType::from_code(m.ord_type()), Some(OrdType::Limit));
    assert_eq!(
        m.time_in_force().and_then(TimeInForce::from_code),
        Some(TimeInForce::Day)
    );
}

#[test]
fn string_setter_rejects_overlong_and_pads() {
    let mut buf = [0xAAu8; 256];
    let mut w = NewOrderSingleWriter::new(&mut buf).unwrap();
    let err = w.set_cl_ord_id("123456789012345678901").unwrap_err();
    assert_eq!(
        err,
        EncodeError::FieldTooLong {
            field: "ClOrdID",
            max: 20,
            len: 21
        }
    );
    w.set_cl_ord_id("12345678901234567890").unwrap();
    w.set_cl_ord_id("AB").unwrap();
    let len = w.finish();
    assert_eq!(
        &buf[FRAME_HEADER_LEN + 41..][..20],
        b"AB\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
    );
    let m = NewOrderSingle::decode(&buf[..len]).unwrap();
    assert_eq!(m.cl_ord_id().as_bytes(), b"AB");
}

/// A char field ends at its first NUL wherever it sits (the word-at-a-time search against a
/// byte loop): every length up to 41, a NUL at every position or none, bytes around it that
/// look like NUL to a careless bit trick (0x01, 0x80, 0xFF, 0x00 after the first NUL).
#[test]
fn fixed_str_ends_at_the_first_nul() {
    for len in 0..=41usize {
        for nul in (0..len).map(Some).chain([None]) {
            for fill in [b'A', 0x01, 0x80, 0xFF] {
                let mut b: Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8 % 3)).collect();
                for x in b.iter_mut().filter(|x| **x == 0) {
                    *x = 0x01;
                }
                if let Some(at) = nul {
                    b[at] = 0;
                    // Non-zero and zero bytes after the first NUL do not matter.
                    if let Some(x) = b.get_mut(at + 1) {
                        *x = 0x01;
                    }
                    if let Some(x) = b.get_mut(at + 2) {
                        *x = 0;
                    }
                }
                let want = b.iter().position(|&c| c == 0).unwrap_or(len);
                assert_eq!(
                    FixedStr::from_padded(&b).as_bytes(),
                    &b[..want],
                    "len {len} nul {nul:?} fill {fill:#x}"
                );
            }
        }
    }
}

#[test]
fn writer_reports_small_buffer() {
    let mut buf = [0u8; 100];
    let err = NewOrderSingleWriter::new(&mut buf).unwrap_err();
    assert_eq!(
        err,
        EncodeError::BufferTooSmall {
            need: 144,
            have: 100
        }
    );
}

#[test]
fn credentials_written_empty_and_read() {
    let mut buf = [0u8; 256];
    let len = NegotiateWriter::new(&mut buf).unwrap().finish();
    assert_eq!(len, FRAME_HEADER_LEN + 76 + 2);
    assert_eq!(&buf[len - 2..len], &[0, 0]);
    // A peer that sends non-empty credentials still decodes.
    buf[len - 2] = 3;
    buf[len..len + 3].copy_from_slice(b"abc");
    let total = len + 3;
    buf[..2].copy_from_slice(&(total as u16).to_le_bytes());
    let m = Negotiate::decode(&buf[..total]).unwrap();
    assert_eq!(m.credentials(), b"abc");
}

/// Re-encodes a v9 frame as schema version 8: drops the trailing EnvironmentIndicator byte
/// of the root block.
fn to_v8(frame: &[u8], v8_block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&frame[..FRAME_HEADER_LEN]);
    out.extend_from_slice(&frame[FRAME_HEADER_LEN..FRAME_HEADER_LEN + v8_block]);
    out.extend_from_slice(&frame[FRAME_HEADER_LEN + v8_block + 1..]);
    let len = out.len() as u16;
    out[..2].copy_from_slice(&len.to_le_bytes());
    out[4..6].copy_from_slice(&(v8_block as u16).to_le_bytes());
    out[10..12].copy_from_slice(&8u16.to_le_bytes());
    out
}

#[test]
fn version_8_blocks_accepted_for_501_502_504_505() {
    let mut buf = [0u8; 256];

    let len = {
        let mut w = NegotiationResponseWriter::new(&mut buf).unwrap();
        w.set_uuid(5)
            .set_previous_seq_no(17)
            .set_environment_indicator(Some(2));
        w.finish()
    };
    let v9 = NegotiationResponse::decode(&buf[..len]).unwrap();
    assert_eq!(v9.environment_indicator(), Some(2));
    let v8 = to_v8(&buf[..len], 32);
    let m = NegotiationResponse::decode(&v8).unwrap();
    assert_eq!((m.header().version, m.header().block_length), (8, 32));
    assert_eq!(
        (m.uuid(), m.previous_seq_no(), m.environment_indicator()),
        (5, 17, None)
    );
    assert!(m.credentials().is_empty());

    let len = {
        let mut w = NegotiationRejectWriter::new(&mut buf).unwrap();
        w.set_error_codes(RejectCode::InvalidFirm.code())
            .set_environment_indicator(Some(1));
        w.set_reason("bad firm").unwrap();
        w.finish()
    };
    let v8 = to_v8(&buf[..len], 68);
    let m = NegotiationReject::decode(&v8).unwrap();
    assert_eq!(
        RejectCode::from_code(m.error_codes()),
        Some(RejectCode::InvalidFirm)
    );
    assert_eq!(m.reason(), "bad firm");
    assert_eq!(m.environment_indicator(), None);

    let len = {
        let mut w = EstablishmentAckWriter::new(&mut buf).unwrap();
        w.set_next_seq_no(40)
            .set_keep_alive_interval(30_000)
            .set_environment_indicator(Some(3));
        w.finish()
    };
    let v8 = to_v8(&buf[..len], 38);
    let m = EstablishmentAck::decode(&v8).unwrap();
    assert_eq!((m.next_seq_no(), m.keep_alive_interval()), (40, 30_000));
    assert_eq!(m.environment_indicator(), None);
    assert_eq!(
        EstablishmentAck::decode(&buf[..len])
            .unwrap()
            .environment_indicator(),
        Some(3)
    );

    let len = {
        let mut w = EstablishmentRejectWriter::new(&mut buf).unwrap();
        w.set_next_seq_no(9)
            .set_error_codes(RejectCode::InvalidKeepAliveInterval.code());
        w.finish()
    };
    let v8 = to_v8(&buf[..len], 72);
    let m = EstablishmentReject::decode(&v8).unwrap();
    assert_eq!(m.next_seq_no(), 9);
    assert_eq!(
        RejectCode::name_of(m.error_codes()),
        "InvalidKeepAliveInterval"
    );
    assert!(matches!(
        decode(&to_v8(&buf[..len], 72)),
        Ok(Message::EstablishmentReject(_))
    ));
}

#[test]
fn longer_block_from_a_newer_peer_is_skipped_by_block_length() {
    // Root block 4 bytes longer than ours, then the group: the group must still be found.
    let mut buf = [0u8; 1024];
    let len = {
        let mut w = OrderMassActionReportWriter::with_counts(&mut buf, [1]).unwrap();
        w.set_total_affected_orders(1);
        w.affected_order_mut(0)
            .unwrap()
            .set_affected_order_id(55)
            .set_cxl_quantity(2);
        w.finish()
    };
    let split = FRAME_HEADER_LEN + 130;
    let mut v = buf[..split].to_vec();
    v.extend_from_slice(&[9, 9, 9, 9]);
    v.extend_from_slice(&buf[split..len]);
    let n = v.len() as u16;
    v[..2].copy_from_slice(&n.to_le_bytes());
    v[4..6].copy_from_slice(&134u16.to_le_bytes());
    let m = OrderMassActionReport::decode(&v).unwrap();
    assert_eq!(m.total_affected_orders(), 1);
    let e = m.affected_orders().get(0).unwrap();
    assert_eq!((e.affected_order_id(), e.cxl_quantity()), (55, 2));
    assert!(m.affected_orders().get(1).is_none());
}

#[test]
fn trade_outright_groups() {
    let mut buf = [0u8; 1024];
    let len = {
        let mut w = ExecutionReportTradeOutrightWriter::with_counts(&mut buf, [2, 1]).unwrap();
        w.set_last_qty(5).set_cum_qty(5).set_leaves_qty(0);
        w.fill_mut(0).unwrap().set_fill_px(100).set_fill_qty(2);
        w.fill_mut(1)
            .unwrap()
            .set_fill_px(101)
            .set_fill_qty(3)
            .set_fill_exec_id("A1")
            .unwrap();
        assert!(w.fill_mut(2).is_none());
        w.order_event_mut(0)
            .unwrap()
            .set_order_event_qty(5)
            .set_order_event_type(Some(5));
        w.finish()
    };
    assert_eq!(len, FRAME_HEADER_LEN + 293 + 3 + 2 * 15 + 3 + 41);
    let m = ExecutionReportTradeOutright::decode(&buf[..len]).unwrap();
    let fills: Vec<_> = m
        .fills()
        .iter()
        .map(|f| (f.fill_px(), f.fill_qty()))
        .collect();
    assert_eq!(fills, vec![(100, 2), (101, 3)]);
    assert_eq!(m.fills().get(1).unwrap().fill_exec_id(), "A1");
    let ev = m.order_events().get(0).unwrap();
    assert_eq!((ev.order_event_qty(), ev.order_event_type()), (5, Some(5)));
    assert_eq!(ev.contra_gross_trade_amt(), None);
}

// ---- one test per typed error ----

#[test]
fn error_short() {
    assert_eq!(
        decode(&[0x10, 0]).err(),
        Some(DecodeError::Short { len: 2, need: 4 })
    );
}

#[test]
fn error_sofh_too_small() {
    assert_eq!(
        decode(&[8, 0, 0xFE, 0xCA, 0, 0, 0, 0]).err(),
        Some(DecodeError::SofhSizeTooSmall {
            declared: 8,
            min: 12
        })
    );
    assert!(
        next_frame(&[0, 0, 0xFE, 0xCA]).is_err(),
        "size 0 must not loop"
    );
}

#[test]
fn error_lying_sofh_length() {
    let mut buf = [0u8; 256];
    let len = nos_frame(&mut buf);
    let mut f = buf[..len].to_vec();
    f[0] = f[0].wrapping_add(1);
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::SofhLengthMismatch {
            declared: len as u16 + 1,
            actual: len
        })
    );
    let e = decode(&buf[..len - 1]).unwrap_err();
    assert_eq!(
        e,
        DecodeError::SofhLengthMismatch {
            declared: len as u16,
            actual: len - 1
        }
    );
    assert!(e.is_framing());
    assert_eq!(e.terminate_code(), TerminateCode::InvalidSofh);
}

#[test]
fn error_encoding_type() {
    let mut buf = [0u8; 256];
    let len = nos_frame(&mut buf);
    buf[2] = 0xFF;
    assert_eq!(
        decode(&buf[..len]).err(),
        Some(DecodeError::EncodingType(0xCAFF))
    );
    assert_eq!(
        next_frame(&buf[..len]),
        Err(DecodeError::EncodingType(0xCAFF))
    );
}

#[test]
fn error_schema_id_and_version() {
    let mut buf = [0u8; 256];
    let len = nos_frame(&mut buf);
    let mut f = buf[..len].to_vec();
    f[8] = 9;
    assert_eq!(decode(&f).err(), Some(DecodeError::SchemaId(9)));
    let mut f = buf[..len].to_vec();
    f[10] = 7;
    assert_eq!(decode(&f).err(), Some(DecodeError::Version(7)));
    assert_eq!(
        DecodeError::Version(7).terminate_code(),
        TerminateCode::DecodingError
    );
}

#[test]
fn error_unknown_and_wrong_template() {
    let mut buf = [0u8; 256];
    let len = nos_frame(&mut buf);
    let mut f = buf[..len].to_vec();
    f[6..8].copy_from_slice(&520u16.to_le_bytes());
    assert_eq!(decode(&f).err(), Some(DecodeError::UnknownTemplate(520)));
    assert_eq!(
        ExecutionReportNew::decode(&buf[..len]).unwrap_err(),
        DecodeError::WrongTemplate {
            expected: 522,
            actual: 514
        }
    );
}

#[test]
fn error_block_too_short_and_overrun() {
    let mut buf = [0u8; 256];
    let len = nos_frame(&mut buf);
    let mut f = buf[..len].to_vec();
    f[4..6].copy_from_slice(&131u16.to_le_bytes());
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::BlockTooShort {
            template: 514,
            block_length: 131,
            min: 132
        })
    );
    f[4..6].copy_from_slice(&133u16.to_le_bytes());
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::BlockOverrun {
            template: 514,
            block_length: 133,
            available: 132
        })
    );
}

#[test]
fn error_group_counts_beyond_frame() {
    let mut buf = [0u8; 1024];
    let len = ExecutionReportTradeOutrightWriter::with_counts(&mut buf, [1, 0])
        .unwrap()
        .finish();
    let g = FRAME_HEADER_LEN + 293;
    // numInGroup 1 -> 9: the entries run past the frame.
    let mut f = buf[..len].to_vec();
    f[g + 2] = 9;
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::GroupOverrun {
            template: 525,
            group: "NoFills",
            count: 9,
            block_length: 15,
            available: 15 + 3
        })
    );
    // Entry blockLength below the fields it needs.
    let mut f = buf[..len].to_vec();
    f[g] = 14;
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::GroupBlockTooShort {
            template: 525,
            group: "NoFills",
            block_length: 14,
            min: 15
        })
    );
    // Frame ends inside the second group header.
    let mut f = buf[..len - 2].to_vec();
    let n = f.len() as u16;
    f[..2].copy_from_slice(&n.to_le_bytes());
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::GroupHeaderOverrun {
            template: 525,
            group: "NoOrderEvents",
            offset: 293 + 3 + 15
        })
    );
}

#[test]
fn error_var_data_overrun() {
    let mut buf = [0u8; 256];
    let len = EstablishWriter::new(&mut buf).unwrap().finish();
    let mut f = buf[..len].to_vec();
    f[len - 2] = 1;
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::VarDataOverrun {
            template: 503,
            field: "Credentials",
            offset: 132,
            len: 1
        })
    );
    let mut f = buf[..len - 1].to_vec();
    let n = f.len() as u16;
    f[..2].copy_from_slice(&n.to_le_bytes());
    assert_eq!(
        decode(&f).err(),
        Some(DecodeError::VarDataOverrun {
            template: 503,
            field: "Credentials",
            offset: 132,
            len: 0
        })
    );
}

#[test]
fn frame_splitter_handles_many_and_partial_frames() {
    let mut stream = Vec::new();
    let mut buf = [0u8; 512];
    let a = nos_frame(&mut buf);
    stream.extend_from_slice(&buf[..a]);
    let b = er_new_frame(&mut buf);
    stream.extend_from_slice(&buf[..b]);
    let c = nos_frame(&mut buf);
    stream.extend_from_slice(&buf[..c - 10]);

    let mut it = Frames::new(&stream);
    let f1 = it.next().unwrap().unwrap();
    assert_eq!(f1.len(), a);
    let f2 = it.next().unwrap().unwrap();
    assert!(matches!(decode(f2), Ok(Message::ExecutionReportNew(_))));
    assert!(it.next().is_none());
    assert_eq!(it.consumed(), a + b);
    assert_eq!(it.needed(), 10);
    assert_eq!(it.remainder().len(), c - 10);

    assert_eq!(next_frame(&[]), Ok(NextFrame::Incomplete { needed: 4 }));
    assert_eq!(
        next_frame(&stream[..1]),
        Ok(NextFrame::Incomplete { needed: 3 })
    );
    assert_eq!(
        next_frame(&stream[..4]),
        Ok(NextFrame::Incomplete { needed: a - 4 })
    );
    assert_eq!(next_frame(&stream), Ok(NextFrame::Frame(&stream[..a])));

    let mut exact = Frames::new(&stream[..a + b]);
    assert_eq!(exact.by_ref().count(), 2);
    assert_eq!(exact.needed(), 0);

    // A framing error is reported once, then the iterator stops.
    let mut bad = stream.clone();
    bad[a + 2] = 0;
    let mut it = Frames::new(&bad);
    assert!(it.next().unwrap().is_ok());
    assert_eq!(it.next(), Some(Err(DecodeError::EncodingType(0xCA00))));
    assert_eq!(it.next(), None);
}

#[test]
fn codes_have_cme_names() {
    assert_eq!(
        TerminateCode::KeepAliveIntervalLapsed.name(),
        "KeepAliveIntervalLapsed"
    );
    assert_eq!(
        TerminateCode::from_code(18),
        Some(TerminateCode::InvalidSofh)
    );
    assert_eq!(
        TerminateCode::name_of(26),
        "DisconnectOrTerminateFromPrimary"
    );
    assert_eq!(TerminateCode::name_of(25), "Unknown");
    assert_eq!(
        RejectCode::from_code(28).map(RejectCode::name),
        Some("NegotiateNotAllowed")
    );
    assert_eq!(RejectCode::from_code(2), None);
    assert_eq!(
        RetransmitRejectCode::from_code(2),
        Some(RetransmitRejectCode::RequestLimitExceeded)
    );
    assert_eq!(RetransmitRejectCode::RetransmitAlreadyInProgress.code(), 3);
    for c in TerminateCode::ALL {
        assert_eq!(TerminateCode::from_code(c.code()), Some(*c));
    }
    assert_eq!(TerminateCode::InvalidUuid.to_string(), "InvalidUUID (13)");
}

#[test]
fn inbound_business_templates() {
    assert!(is_inbound_business(522));
    assert!(is_inbound_business(562));
    assert!(is_inbound_business(524));
    assert!(is_inbound_business(532));
    assert!(!is_inbound_business(514));
    assert!(!is_inbound_business(529));
    assert!(!is_inbound_business(506));
    assert!(!is_inbound_business(520));
    // Exactly the templates laid out `SeqNum u32 @0, UUID u64 @4`, and each has a
    // PossRetransFlag that `Message::poss_retrans` reads.
    for d in MESSAGES {
        let at = |name: &str| d.fields.iter().find(|f| f.name == name).map(|f| f.offset);
        let exchange = at("SeqNum") == Some(0) && at("UUID") == Some(4);
        assert_eq!(is_inbound_business(d.template_id), exchange, "{}", d.name);
        assert_eq!(at("PossRetransFlag").is_some(), exchange, "{}", d.name);
    }
}

#[test]
fn poss_retrans_is_read_from_every_template_that_has_it() {
    for (i, d) in MESSAGES.iter().enumerate() {
        let mut f = sample_frame(i, 0);
        let at = d.fields.iter().find(|f| f.name == "PossRetransFlag");
        assert_eq!(
            decode(&f).unwrap().poss_retrans(),
            at.map(|_| false),
            "{}",
            d.name
        );
        if let Some(at) = at {
            f[FRAME_HEADER_LEN + at.offset] = 1;
            assert_eq!(decode(&f).unwrap().poss_retrans(), Some(true), "{}", d.name);
        }
    }
}

/// HMACSignature is binary: zero bytes anywhere (even first) survive the round trip.
#[test]
fn hmac_signature_with_zero_bytes_round_trips_whole() {
    let mut sig = [0u8; 32];
    for (i, b) in sig.iter_mut().enumerate() {
        *b = if i % 3 == 0 { 0 } else { i as u8 };
    }
    let mut buf = [0u8; 256];
    let n = {
        let mut w = crate::ilink3::NegotiateWriter::new(&mut buf).unwrap();
        w.set_hmac_signature(sig).unwrap();
        w.set_uuid(7);
        w.finish()
    };
    let m = crate::ilink3::Negotiate::decode(&buf[..n]).unwrap();
    assert_eq!(m.hmac_signature(), &sig);
    assert!(
        m.hmac_signature_text().is_empty(),
        "the text view stops at the first zero"
    );
    let n = {
        let mut w = crate::ilink3::EstablishWriter::new(&mut buf).unwrap();
        w.set_hmac_signature(sig).unwrap();
        w.finish()
    };
    let m = crate::ilink3::Establish::decode(&buf[..n]).unwrap();
    assert_eq!(m.hmac_signature(), &sig);
}
