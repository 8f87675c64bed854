// lrncl_opencv.cpp: lrncl as OpenCV DNN's "LRN" layer (lrncl_opencv.hpp, docs/opencv.md).
#include "lrncl_opencv.hpp"

#include <lrncl.h>

#include <atomic>
#include <mutex>
#include <opencv2/core/ocl.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/layer.details.hpp>
#include <string>
#include <vector>

namespace {
std::atomic<std::size_t> runs_opencl{0}, runs_host{0};
std::mutex registration;
bool registered = false;

void check(lrncl_status s) {
    if (s != LRNCL_SUCCESS)
        CV_Error(cv::Error::StsError, std::string("lrncl: ") + lrncl_status_string(s) + ": " + lrncl_last_error());
}

class LrnclLayer : public cv::dnn::Layer {
  public:
    explicit LrnclLayer(const cv::dnn::LayerParams &p) : Layer(p) {
        bool within = p.get<cv::String>("norm_region", "ACROSS_CHANNELS") == "WITHIN_CHANNEL";
        lrncl_desc_init(&d_, within ? LRNCL_WITHIN_CHANNEL : LRNCL_ACROSS_CHANNELS);
        d_.local_size = p.get<int>("local_size", 5);
        d_.alpha = p.get<float>("alpha", 1.f);
        d_.beta = p.get<float>("beta", 0.75f);
        d_.k = p.has("k") ? p.get<float>("k") : p.get<float>("bias", 1.f); // Caffe's importer says "k"
        if (!p.get<bool>("norm_by_size", true)) { // TensorFlow's importer: alpha is not divided by n
            d_.convention = LRNCL_CONVENTION_EXPLICIT;
            d_.window_lo = d_.window_hi = (d_.local_size - 1) / 2;
            d_.alpha_divisor = LRNCL_ALPHA_RAW, d_.use_k = 1;
        }
    }
    ~LrnclLayer() override { lrncl_plan_release(plan_), lrncl_context_release(ctx_); }
    static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams &p) { return cv::makePtr<LrnclLayer>(p); }

    void forward(cv::InputArrayOfArrays in, cv::OutputArrayOfArrays out, cv::OutputArrayOfArrays) override {
        if (in.isUMatVector()) { // DNN_TARGET_OPENCL: OpenCV's buffers, context and in-order queue
            std::vector<cv::UMat> x, y;
            in.getUMatVector(x), out.getUMatVector(y);
            auto q = static_cast<cl_command_queue>(cv::ocl::Queue::getDefault().ptr());
            check(lrncl_forward_at(plan(x[0]), q, static_cast<cl_mem>(x[0].handle(cv::ACCESS_READ)),
                                   x[0].offset / sizeof(float), static_cast<cl_mem>(y[0].handle(cv::ACCESS_WRITE)),
                                   y[0].offset / sizeof(float), nullptr, 0, 0, nullptr, nullptr));
            ++runs_opencl;
        } else { // DNN_TARGET_CPU: Mats on the host, through the float64 reference
            std::vector<cv::Mat> x, y;
            in.getMatVector(x), out.getMatVector(y);
            lrncl_desc d = shaped(x[0]);
            std::vector<double> xd(x[0].ptr<float>(), x[0].ptr<float>() + x[0].total()), yd(xd.size());
            check(lrncl_reference_forward(&d, xd.data(), yd.data(), nullptr));
            std::copy(yd.begin(), yd.end(), y[0].ptr<float>());
            ++runs_host;
        }
    }

  private:
    template <class M> lrncl_desc shaped(const M &m) const {
        CV_Assert(m.dims == 4 && m.type() == CV_32F && m.isContinuous());
        lrncl_desc d = d_;
        d.n = m.size[0], d.c = m.size[1], d.h = m.size[2], d.w = m.size[3];
        return d;
    }
    // One plan per shape (offsets are given at run time), on the lrncl context every layer on
    // OpenCV's cl_context shares, made on first use.
    lrncl_plan *plan(const cv::UMat &x) {
        lrncl_desc d = shaped(x);
        std::vector<int> shape(x.size.p, x.size.p + 4);
        if (!ctx_)
            check(lrncl_context_create_shared(static_cast<cl_context>(cv::ocl::Context::getDefault().ptr()),
                                              static_cast<cl_device_id>(cv::ocl::Device::getDefault().ptr()), &ctx_));
        if (!plan_ || shape != shape_) {
            lrncl_plan_release(plan_), plan_ = nullptr;
            check(lrncl_plan_create(ctx_, &d, &plan_));
            shape_ = shape;
        }
        return plan_;
    }
    lrncl_desc d_;
    std::vector<int> shape_;
    lrncl_context *ctx_ = nullptr;
    lrncl_plan *plan_ = nullptr;
};
} // namespace

void lrncl_opencv_register() {
    std::lock_guard<std::mutex> lock(registration);
    if (!registered)
        CV_DNN_REGISTER_LAYER_CLASS(LRN, LrnclLayer);
    registered = true;
}

void lrncl_opencv_unregister() {
    std::lock_guard<std::mutex> lock(registration);
    if (registered)
        cv::dnn::LayerFactory::unregisterLayer("LRN");
    registered = false;
}

std::size_t lrncl_opencv_runs(bool opencl) { return opencl ? runs_opencl.load() : runs_host.load(); }
