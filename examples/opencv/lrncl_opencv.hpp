// lrncl_opencv.hpp: lrncl as OpenCV DNN's "LRN" layer (docs/opencv.md).
//
//   lrncl_opencv_register();                       // before the net's first forward
//   cv::dnn::Net net = cv::dnn::readNetFromCaffe("deploy.prototxt", "weights.caffemodel");
//   net.setPreferableTarget(cv::dnn::DNN_TARGET_OPENCL);
//
// On the OpenCL target the layer enqueues lrncl on OpenCV's own context and queue; on the CPU
// target it computes on the host with lrncl's float64 reference. Caffe's meaning of local_size,
// alpha, beta and k (OpenCV's own LRN ignores a Caffe model's k: docs/opencv.md).
#ifndef LRNCL_OPENCV_HPP
#define LRNCL_OPENCV_HPP

#include <cstddef>

// Makes lrncl's layer the one OpenCV creates for type "LRN" (layers made before keep theirs).
// Calling it again while registered does nothing.
void lrncl_opencv_register();
// Gives "LRN" back to the layer registered before (OpenCV's own).
void lrncl_opencv_unregister();
// How many forwards lrncl's layers ran on OpenCV's OpenCL queue (opencl true) or on the host.
std::size_t lrncl_opencv_runs(bool opencl);

#endif
