// ConvNetJS (npm convnetjs@0.3.0, loaded as a library) training the same architectures
// as benchmarks/browser/pycnn_steps.py, for benchmarks/bench_browser.py.
// Messages {id, cmd, arg}; answers {id, ok, result | error}.
//   init {libUrl, dataBase}: load the library and the data, build the two networks.
//   run {task: "keras", batch, steps, model} | {task: "starter_epoch", batch, epochs}:
//        same tasks as pycnn_steps.run; one "step" = `batch` calls of trainer.train
//        (ConvNetJS trains one sample per call and updates the weights every
//        `batch_size` samples). Returns {times: [seconds...], samples: per time}.
// Trainer: sgd, learning_rate 0.01, momentum 0.9, batch_size 32, no weight decay --
// the same rule as pycnn's SGD(0.01, momentum=0.9) used on the pycnn side.
"use strict";
let nets = null;
let data = null;
let cursor = 0;

async function fetchArray(url, Type) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return new Type(await resp.arrayBuffer());
}

function toVols(x, side) {
  const size = side * side;
  const vols = [];
  for (let i = 0; i < x.length / size; i++) {
    const v = new convnetjs.Vol(side, side, 1, 0.0);
    for (let j = 0; j < size; j++) v.w[j] = x[i * size + j];
    vols.push(v);
  }
  return vols;
}

function makeNet(layers, batchSize) {
  const net = new convnetjs.Net();
  net.makeLayers(layers);
  const trainer = new convnetjs.Trainer(net, {
    method: "sgd", learning_rate: 0.01, momentum: 0.9, batch_size: batchSize, l2_decay: 0.0,
  });
  let params = 0;
  for (const pg of net.getParamsAndGrads()) params += pg.params.length;
  return { net, trainer, params };
}

async function init(arg) {
  self.window = self; // convnet.js ends with `window.jsfeat = lib` when there is no `module`
  importScripts(arg.libUrl);
  data = {
    mnist: toVols(await fetchArray(arg.dataBase + "mnist-x.f32", Float32Array), 28),
    mnistY: await fetchArray(arg.dataBase + "mnist-y.i32", Int32Array),
    digits: toVols(await fetchArray(arg.dataBase + "digits-x.f32", Float32Array), 8),
    digitsY: await fetchArray(arg.dataBase + "digits-y.i32", Int32Array),
  };
  const relu = { stride: 1, pad: 0, activation: "relu" };
  const pool = { type: "pool", sx: 2, stride: 2 };
  nets = {
    // Conv2D(32,3,relu)-MaxPool(2)-Conv2D(64,3,relu)-MaxPool(2)-Flatten-Dropout(0.5)-Dense(10,softmax)
    keras: makeNet([
      { type: "input", out_sx: 28, out_sy: 28, out_depth: 1 },
      { type: "conv", sx: 3, filters: 32, ...relu }, { ...pool },
      { type: "conv", sx: 3, filters: 64, ...relu }, { ...pool },
      { type: "dropout", drop_prob: 0.5 },
      { type: "softmax", num_classes: 10 }, // ConvNetJS adds the fc(10) layer itself
    ], 32),
    // Conv2D(8,3,relu)-MaxPool(2)-Flatten-Dense(10,softmax)
    starter: makeNet([
      { type: "input", out_sx: 8, out_sy: 8, out_depth: 1 },
      { type: "conv", sx: 3, filters: 8, ...relu }, { ...pool },
      { type: "softmax", num_classes: 10 },
    ], 32),
    // the same layers on MNIST 28x28 (the app's default model once the dataset is MNIST)
    mnist_default: makeNet([
      { type: "input", out_sx: 28, out_sy: 28, out_depth: 1 },
      { type: "conv", sx: 3, filters: 8, ...relu }, { ...pool },
      { type: "softmax", num_classes: 10 },
    ], 32),
  };
  return {
    params: Object.fromEntries(Object.entries(nets).map(([k, n]) => [k, n.params])),
    mnist_images: data.mnist.length, digits_images: data.digits.length,
    revision: convnetjs.REVISION,
  };
}

function run(task) {
  const times = [];
  if (task.task === "keras") {
    const { trainer } = nets[task.model || "keras"];
    const batch = task.batch;
    for (let s = 0; s < task.steps; s++) {
      if (cursor + batch > data.mnist.length) cursor = 0;
      const t0 = performance.now();
      for (let i = cursor; i < cursor + batch; i++) trainer.train(data.mnist[i], data.mnistY[i]);
      times.push((performance.now() - t0) / 1000);
      cursor += batch;
    }
    return { times, samples: batch };
  }
  if (task.task === "starter_epoch") {
    const { trainer } = nets.starter;
    const n = data.digits.length;
    const order = Array.from({ length: n }, (_, i) => i);
    for (let e = 0; e < (task.epochs || 1); e++) {
      const t0 = performance.now();
      for (let i = n - 1; i > 0; i--) { // shuffle each epoch, as pycnn's fit does
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const i of order) trainer.train(data.digits[i], data.digitsY[i]);
      times.push((performance.now() - t0) / 1000);
    }
    return { times, samples: n };
  }
  throw new Error(`unknown task ${task.task}`);
}

self.onmessage = async (ev) => {
  const { id, cmd, arg } = ev.data;
  try {
    let result;
    if (cmd === "init") result = await init(arg);
    else if (cmd === "run") result = run(arg);
    else throw new Error(`unknown command ${cmd}`);
    self.postMessage({ id, ok: true, result });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err && err.stack || err) });
  }
};
