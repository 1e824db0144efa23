//! Finite-difference gradient checks (f64, central differences) for every layer and loss.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::loss::mse;
use super::resample::{pool2, pool2_backward, upsample2, upsample2_backward};
use super::{Act, Conv1d, Dense, Lstm};

const H: f64 = 1e-6;

fn rng() -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(7)
}

fn random2(r: &mut Xoshiro256PlusPlus, shape: (usize, usize)) -> Array2<f64> {
    Array2::from_shape_fn(shape, |_| r.gen_range(-1.0..1.0))
}

fn random3(r: &mut Xoshiro256PlusPlus, shape: (usize, usize, usize)) -> Array3<f64> {
    Array3::from_shape_fn(shape, |_| r.gen_range(-1.0..1.0))
}

/// Compares an analytic gradient with central differences of `loss` over every element of the array that
/// `at` picks out of a clone of `model`.
fn check<M: Clone, D: ndarray::Dimension>(
    what: &str,
    model: &M,
    analytic: &ndarray::Array<f64, D>,
    at: impl Fn(&mut M) -> &mut ndarray::Array<f64, D>,
    loss: impl Fn(&M) -> f64,
) {
    let mut worst: f64 = 0.0;
    let n = at(&mut model.clone()).len();
    for k in 0..n {
        let mut plus = model.clone();
        *at(&mut plus).iter_mut().nth(k).unwrap() += H;
        let mut minus = model.clone();
        *at(&mut minus).iter_mut().nth(k).unwrap() -= H;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * H);
        let a = *analytic.iter().nth(k).unwrap();
        let rel = (a - numeric).abs() / (a.abs() + numeric.abs()).max(1e-7);
        worst = worst.max(rel);
    }
    assert!(worst < 1e-5, "{what}: relative gradient error {worst:e}");
}

#[test]
fn mse_gradient() {
    let mut r = rng();
    let (y, t) = (random2(&mut r, (4, 3)), random2(&mut r, (4, 3)));
    let (_, g) = mse(y.view(), t.view());
    check("mse", &y, &g, |y| y, |y| mse(y.view(), t.view()).0);
}

#[test]
fn dense_gradients_for_each_activation() {
    for act in [Act::Identity, Act::Tanh, Act::Relu] {
        let mut r = rng();
        let layer = Dense::new(3, 4, act, &mut r);
        let (x, t) = (random2(&mut r, (5, 3)), random2(&mut r, (5, 4)));
        let loss = |l: &(Dense, Array2<f64>)| mse(l.0.forward(l.1.view()).view(), t.view()).0;
        let mut trained = layer.clone();
        let y = trained.forward(x.view());
        let gx = trained.backward(x.view(), &y, mse(y.view(), t.view()).1);
        let model = (layer, x);
        check(
            &format!("dense {act:?} W"),
            &model,
            &trained.w.g,
            |m| &mut m.0.w.w,
            loss,
        );
        check(
            &format!("dense {act:?} b"),
            &model,
            &trained.b.g,
            |m| &mut m.0.b.w,
            loss,
        );
        check(&format!("dense {act:?} x"), &model, &gx, |m| &mut m.1, loss);
    }
}

#[test]
fn conv1d_gradients() {
    let mut r = rng();
    let layer = Conv1d::new(3, 2, 5, Act::Tanh, &mut r);
    let (x, t) = (random3(&mut r, (2, 8, 3)), random3(&mut r, (2, 8, 2)));
    let flat = |a: Array3<f64>| a.into_shape_with_order((16, 2)).unwrap();
    let loss =
        |m: &(Conv1d, Array3<f64>)| mse(flat(m.0.forward(m.1.view())).view(), flat(t.clone()).view()).0;
    let mut trained = layer.clone();
    let y = trained.forward(x.view());
    let g = mse(flat(y.clone()).view(), flat(t.clone()).view())
        .1
        .into_shape_with_order((2, 8, 2))
        .unwrap();
    let gx = trained.backward(x.view(), &y, g);
    let model = (layer, x);
    check("conv W", &model, &trained.w.g, |m| &mut m.0.w.w, loss);
    check("conv b", &model, &trained.b.g, |m| &mut m.0.b.w, loss);
    check("conv x", &model, &gx, |m| &mut m.1, loss);
}

#[test]
fn pool_and_upsample_gradients() {
    let mut r = rng();
    let x = random3(&mut r, (2, 6, 3));
    let t = random3(&mut r, (2, 3, 3));
    let flat = |a: Array3<f64>, n| a.into_shape_with_order((n, 3)).unwrap();
    let pooled = |x: &Array3<f64>| mse(flat(pool2(x.view()), 6).view(), flat(t.clone(), 6).view()).0;
    let g = mse(flat(pool2(x.view()), 6).view(), flat(t.clone(), 6).view()).1;
    let gx = pool2_backward(g.into_shape_with_order((2, 3, 3)).unwrap().view());
    check("pool2", &x, &gx, |x| x, pooled);
    let t2 = random3(&mut r, (2, 12, 3));
    let up = |x: &Array3<f64>| mse(flat(upsample2(x.view()), 24).view(), flat(t2.clone(), 24).view()).0;
    let g = mse(flat(upsample2(x.view()), 24).view(), flat(t2.clone(), 24).view()).1;
    let gx = upsample2_backward(g.into_shape_with_order((2, 12, 3)).unwrap().view());
    check("upsample2", &x, &gx, |x| x, up);
}

#[test]
fn lstm_gradients_through_time() {
    let mut r = rng();
    let layer = Lstm::new(3, 4, &mut r);
    let steps = 5;
    let xs: Vec<Array2<f64>> = (0..steps).map(|_| random2(&mut r, (2, 3))).collect();
    let ts: Vec<Array2<f64>> = (0..steps).map(|_| random2(&mut r, (2, 4))).collect();
    let run = |l: &Lstm, xs: &[Array2<f64>]| {
        let (mut h, mut c) = (Array2::zeros((2, 4)), Array2::zeros((2, 4)));
        let mut out = Vec::new();
        for x in xs {
            let (h2, c2, cache) = l.step(x.view(), h.view(), c.view());
            out.push((h2.clone(), cache));
            (h, c) = (h2, c2);
        }
        out
    };
    let loss = |m: &(Lstm, Vec<Array2<f64>>)| {
        run(&m.0, &m.1)
            .iter()
            .zip(&ts)
            .map(|((h, _), t)| mse(h.view(), t.view()).0)
            .sum::<f64>()
    };
    let mut trained = layer.clone();
    let out = run(&trained, &xs);
    let dhs: Vec<Array2<f64>> = out
        .iter()
        .zip(&ts)
        .map(|((h, _), t)| mse(h.view(), t.view()).1)
        .collect();
    let caches: Vec<_> = out.into_iter().map(|(_, c)| c).collect();
    let dxs = trained.backward(&caches, &dhs);
    let model = (layer, xs);
    check("lstm W", &model, &trained.w.g, |m| &mut m.0.w.w, loss);
    check("lstm U", &model, &trained.u.g, |m| &mut m.0.u.w, loss);
    check("lstm b", &model, &trained.b.g, |m| &mut m.0.b.w, loss);
    for (t, dx) in dxs.iter().enumerate() {
        check(&format!("lstm x[{t}]"), &model, dx, |m| &mut m.1[t], loss);
    }
}
