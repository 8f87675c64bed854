// test_opencv.cpp: lrncl's OpenCV DNN layer (lrncl_opencv.hpp) in Caffe nets read by
// readNetFromCaffe, on OpenCV's OpenCL target (PoCL in CI) and its CPU target.
//
// Nets: AlexNet's conv1, relu1, norm1 (ACROSS_CHANNELS, local_size 5, alpha 1e-4, beta 0.75;
// k = 1, then k = 2) and cifar10_full's conv1, pool1, relu1, norm1 (WITHIN_CHANNEL, local_size
// 3, alpha 5e-5, beta 0.75). The weights are made here (seeded) and written as a .caffemodel
// (protobuf) in memory. Each run reads norm1's input (relu1's output) and norm1's output, and
// norm1's output is checked against lrncl_reference_forward on that input, and lrncl's layer
// against OpenCV's own: within 1e-5 of the largest |reference| at k = 1. At k = 2 OpenCV's own
// layer is asserted to give what k = 1 gives (its Caffe importer drops lrn_param.k), lrncl to
// be right.
//
// Environment (set by CTest): OPENCV_OPENCL_DEVICE=:CPU: and OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1
// (OpenCV's DNN OpenCL target refuses CPU devices otherwise and silently runs on the CPU target).
#include "lrncl_opencv.hpp"

#include <lrncl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <opencv2/core/ocl.hpp>
#include <opencv2/dnn.hpp>
#include <random>
#include <string>
#include <vector>

namespace {
int failures = 0;

void expect(bool ok, const std::string &what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
    failures += !ok;
}

// ---- a .caffemodel, written as protobuf wire format --------------------------------------------
struct Pb {
    std::string s;
    void varint(std::uint64_t v) {
        for (; v >= 0x80; v >>= 7)
            s += char(0x80 | (v & 0x7f));
        s += char(v);
    }
    void tag(int field, int wire) { varint(std::uint64_t(field) << 3 | wire); }
    void bytes(int field, const std::string &b) { tag(field, 2), varint(b.size()), s += b; }
};

// caffe.proto: BlobShape.dim = 1 (packed int64); BlobProto.data = 5 (packed float), shape = 7.
std::string blob(const std::vector<int> &shape, const std::vector<float> &data) {
    Pb dims, b;
    for (int d : shape)
        dims.varint(std::uint64_t(d));
    Pb shp;
    shp.bytes(1, dims.s);
    b.bytes(7, shp.s);
    b.bytes(5, std::string(reinterpret_cast<const char *>(data.data()), data.size() * sizeof(float)));
    return b.s;
}

// NetParameter.layer = 100; LayerParameter.name = 1, type = 2, blobs = 7: one convolution's
// weights and bias, matched to the prototxt's layer by name.
std::string caffemodel(const std::string &conv, int out, int in, int kernel, std::mt19937 &rng) {
    std::uniform_real_distribution<float> u(-0.05f, 0.05f);
    std::vector<float> w(std::size_t(out) * in * kernel * kernel), bias(out);
    for (float &v : w)
        v = u(rng);
    for (float &v : bias)
        v = u(rng);
    Pb layer, net;
    layer.bytes(1, conv), layer.bytes(2, "Convolution");
    layer.bytes(7, blob({out, in, kernel, kernel}, w));
    layer.bytes(7, blob({out}, bias));
    net.bytes(100, layer.s);
    return net.s;
}

std::string alexnet(const std::string &k) {
    return R"(name: "AlexNet"
input: "data"
input_shape { dim: 1 dim: 3 dim: 227 dim: 227 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 96 kernel_size: 11 stride: 4 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "norm1" type: "LRN" bottom: "conv1" top: "norm1"
        lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 k: )" + k + R"( } }
)";
}

const char *cifar10_full = R"(name: "CIFAR10_full"
input: "data"
input_shape { dim: 1 dim: 3 dim: 32 dim: 32 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 32 pad: 2 kernel_size: 5 stride: 1 } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "pool1" top: "pool1" }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
        lrn_param { norm_region: WITHIN_CHANNEL local_size: 3 alpha: 5e-05 beta: 0.75 } }
)";

struct Run {
    cv::Mat x, y; // norm1's input and output
};

Run run(const std::string &prototxt, const std::string &model, const cv::Mat &input, int target) {
    cv::dnn::Net net = cv::dnn::readNetFromCaffe(prototxt.data(), prototxt.size(), model.data(), model.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(target);
    net.setInput(input);
    std::vector<cv::Mat> outs;
    net.forward(outs, std::vector<cv::String>{"relu1", "norm1"});
    return {outs[0].clone(), outs[1].clone()};
}

// The float64 reference on x with the layer's parameters (Caffe convention), as float32.
cv::Mat reference(const cv::Mat &x, lrncl_mode mode, int local_size, float alpha, float k) {
    lrncl_desc d;
    lrncl_desc_init(&d, mode);
    d.local_size = local_size, d.alpha = alpha, d.beta = 0.75f, d.k = k;
    d.n = x.size[0], d.c = x.size[1], d.h = x.size[2], d.w = x.size[3];
    std::vector<double> xd(x.ptr<float>(), x.ptr<float>() + x.total()), yd(xd.size());
    lrncl_status st = lrncl_reference_forward(&d, xd.data(), yd.data(), nullptr);
    if (st != LRNCL_SUCCESS) {
        std::fprintf(stderr, "lrncl_reference_forward: %s: %s\n", lrncl_status_string(st), lrncl_last_error());
        std::exit(1);
    }
    cv::Mat y(x.dims, x.size.p, CV_32F);
    std::copy(yd.begin(), yd.end(), y.ptr<float>());
    return y;
}

// max |a - b| over max |ref| (a NaN anywhere counts as infinitely far).
double rel_diff(const cv::Mat &a, const cv::Mat &b, const cv::Mat &ref) {
    double worst = 0, top = 0;
    for (std::size_t i = 0; i < ref.total(); ++i) {
        double e = std::fabs(double(a.ptr<float>()[i]) - b.ptr<float>()[i]);
        worst = std::isnan(e) ? INFINITY : std::max(worst, e);
        top = std::max(top, std::fabs(double(ref.ptr<float>()[i])));
    }
    return top > 0 ? worst / top : worst;
}

std::string fmt(const char *f, double v) {
    char b[160];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

// One net through lrncl's layer (OpenCL and CPU targets) and OpenCV's own (OpenCL target).
// k_used is the k Caffe applies; returns OpenCV's own output and its input for the caller.
void check_net(const char *name, const std::string &prototxt, const std::string &model, const cv::Mat &input,
               lrncl_mode mode, int local_size, float alpha, float k_used, bool opencv_drops_k) {
    std::printf("== %s\n", name);
    const double bound = 1e-5;
    lrncl_opencv_register();
    std::size_t cl_before = lrncl_opencv_runs(true), host_before = lrncl_opencv_runs(false);
    Run ours = run(prototxt, model, input, cv::dnn::DNN_TARGET_OPENCL);
    expect(lrncl_opencv_runs(true) == cl_before + 1, "lrncl's layer ran on OpenCV's OpenCL queue (UMat path; a CPU device needs OPENCV_DNN_OPENCL_ALLOW_ALL_DEVICES=1)");
    Run ours_cpu = run(prototxt, model, input, cv::dnn::DNN_TARGET_CPU);
    expect(lrncl_opencv_runs(false) == host_before + 1, "lrncl's layer ran on the host on the CPU target (Mat path)");
    lrncl_opencv_unregister();
    Run theirs = run(prototxt, model, input, cv::dnn::DNN_TARGET_OPENCL);
    expect(lrncl_opencv_runs(true) == cl_before + 1, "OpenCV's own LRN ran after lrncl_opencv_unregister");

    cv::Mat ref = reference(ours.x, mode, local_size, alpha, k_used);
    double e = rel_diff(ours.y, ref, ref);
    expect(e <= bound, fmt("lrncl's layer (OpenCL) vs lrncl_reference_forward: %.2g of max |ref|", e));
    cv::Mat ref_cpu = reference(ours_cpu.x, mode, local_size, alpha, k_used);
    e = rel_diff(ours_cpu.y, ref_cpu, ref_cpu);
    expect(e <= bound, fmt("lrncl's layer (CPU target) vs lrncl_reference_forward: %.2g of max |ref|", e));
    expect(rel_diff(theirs.x, ours.x, ref) == 0, "OpenCV's run gave norm1 the same input");
    if (!opencv_drops_k) {
        e = rel_diff(theirs.y, ref, ref);
        expect(e <= bound, fmt("OpenCV's own LRN (OpenCL) vs lrncl_reference_forward: %.2g of max |ref|", e));
        e = rel_diff(ours.y, theirs.y, ref);
        expect(e <= bound, fmt("lrncl's layer vs OpenCV's own LRN: %.2g of max |ref|", e));
    } else {
        // OpenCV 4.6's Caffe importer hands lrn_param.k to its LRN as "k", which reads "bias":
        // its layer computes with k = 1 whatever the model says.
        cv::Mat ref_k1 = reference(ours.x, mode, local_size, alpha, 1.0f);
        double off = rel_diff(theirs.y, ref, ref), as_k1 = rel_diff(theirs.y, ref_k1, ref_k1);
        std::printf("note: OpenCV's own LRN at k = %g differs from Caffe's result by %.3g of max |ref| and "
                    "matches k = 1 to %.2g: its Caffe importer drops lrn_param.k (docs/opencv.md)\n",
                    double(k_used), off, as_k1);
        expect(off > 1e-2 && as_k1 <= bound,
               "OpenCV's own LRN computes k = 1 (the known importer defect; if this fails with OpenCV "
               "right, the defect is fixed: update docs/opencv.md)");
    }
}
} // namespace

int main() {
    if (!cv::ocl::haveOpenCL() || !cv::ocl::useOpenCL()) {
        std::fprintf(stderr, "FAIL: OpenCV sees no OpenCL device (on PoCL set OPENCV_OPENCL_DEVICE=:CPU:)\n");
        return 1;
    }
    cv::ocl::Device dev = cv::ocl::Device::getDefault();
    std::printf("OpenCV %s, OpenCL device: %s (%s)\n", CV_VERSION, dev.name().c_str(), dev.version().c_str());

    std::mt19937 rng(19);
    // Mean-subtracted pixels: conv1's outputs then reach tens, where LRN's scale matters.
    cv::Mat a_in(std::vector<int>{1, 3, 227, 227}, CV_32F), c_in(std::vector<int>{1, 3, 32, 32}, CV_32F);
    cv::randu(a_in, -128.f, 128.f), cv::randu(c_in, -128.f, 128.f);
    std::string a_model = caffemodel("conv1", 96, 3, 11, rng), c_model = caffemodel("conv1", 32, 3, 5, rng);

    check_net("AlexNet conv1, relu1, norm1 (across, 5, 1e-4, 0.75, k = 1)", alexnet("1"), a_model, a_in,
              LRNCL_ACROSS_CHANNELS, 5, 1e-4f, 1.0f, false);
    check_net("AlexNet conv1, relu1, norm1 with k = 2", alexnet("2"), a_model, a_in, LRNCL_ACROSS_CHANNELS, 5,
              1e-4f, 2.0f, true);
    check_net("cifar10_full conv1, pool1, relu1, norm1 (within, 3, 5e-5, 0.75)", cifar10_full, c_model, c_in,
              LRNCL_WITHIN_CHANNEL, 3, 5e-5f, 1.0f, false);

    std::printf("%s\n", failures ? "opencv: FAILED" : "opencv: all checks passed");
    return failures ? 1 : 0;
}
