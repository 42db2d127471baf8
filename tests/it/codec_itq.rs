//! ITQ (`itq`): the quantization loss falls over the Procrustes iterations, the learnt rotation
//! stays orthogonal, and it beats a random rotation.

use crate::util::anisotropic;
use codecbench::codec::{CodecSpec, ItqCodec};

#[test]
fn itq_loss_decreases_rotation_stays_orthogonal_and_beats_random() {
    let rows = anisotropic(800, 24, 21);
    let Ok(CodecSpec::Itq(params)) = "itq:bits=16".parse::<CodecSpec>() else {
        panic!("itq spec")
    };
    let itq = ItqCodec::fit(&params, &rows, 5).unwrap();
    let loss = itq.loss_history();
    for w in loss.windows(2) {
        // Alternating minimisation: each half-step is optimal ⇒ non-increasing (1e-9 relative
        // for the SVD/Procrustes rounding).
        assert!(w[1] <= w[0] * (1.0 + 1e-9), "{loss:?}");
    }
    // The learned rotation beats the random one it starts from (ITQ paper Fig. 2: 10–30 %).
    assert!(
        *loss.last().unwrap() < 0.95 * loss[0],
        "{} vs {}",
        loss.last().unwrap(),
        loss[0]
    );
    let r = itq.rotation();
    let c = itq.bits();
    for a in 0..c {
        for b in 0..c {
            let dot: f64 = (0..c).map(|k| r[k * c + a] * r[k * c + b]).sum();
            let want = if a == b { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-9, "RᵀR[{a}][{b}] = {dot}");
        }
    }
}
