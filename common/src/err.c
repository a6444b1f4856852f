#include "qms/err.h"

#include <stdarg.h>
#include <stdio.h>

#include <string.h>

static const struct {
    const char *code;
    const char *vi;
    const char *en;
} errs[QMS_ERR__COUNT] = {
    [QMS_OK] = {"ok", "Thành công", "Done"},
    [QMS_ERR_NOMEM] = {"no_memory", "Hệ thống thiếu bộ nhớ", "Out of memory"},
    [QMS_ERR_INVAL] = {"invalid", "Yêu cầu không hợp lệ", "Invalid request"},
    [QMS_ERR_UNKNOWN_SERVICE] = {"unknown_service", "Không có dịch vụ này", "No such service"},
    [QMS_ERR_UNKNOWN_COUNTER] = {"unknown_counter", "Không có quầy này", "No such counter"},
    [QMS_ERR_UNKNOWN_TICKET] = {"unknown_ticket", "Không tìm thấy số thứ tự này", "No such ticket"},
    [QMS_ERR_UNKNOWN_OP] = {"unknown_op", "Thao tác không được hỗ trợ", "Unknown operation"},
    [QMS_ERR_CAP_REACHED] = {"cap_reached", "Dịch vụ đã hết số trong ngày hôm nay",
                             "This service has no more tickets today"},
    [QMS_ERR_OUTSIDE_HOURS] = {"outside_hours", "Dịch vụ hiện không nhận hồ sơ (ngoài giờ)",
                               "This service is not open now"},
    [QMS_ERR_COUNTER_CLOSED] = {"counter_closed", "Quầy đang tạm dừng hoặc đã đóng",
                                "The counter is paused or closed"},
    [QMS_ERR_NOTHING_TO_CALL] = {"nothing_to_call", "Không còn khách chờ cho quầy này",
                                 "Nobody is waiting for this counter"},
    [QMS_ERR_BAD_STATE] = {"bad_state", "Thao tác không hợp lệ ở trạng thái hiện tại",
                           "Not possible in the current state"},
    [QMS_ERR_TOO_LARGE] = {"too_large", "Yêu cầu quá lớn", "Request too large"},
    [QMS_ERR_IO] = {"io_error", "Lỗi vào/ra", "Input/output error"},
    [QMS_ERR_DB] = {"db_error", "Lỗi cơ sở dữ liệu", "Database error"},
    [QMS_ERR_PROTOCOL] = {"protocol", "Lỗi giao thức", "Protocol error"},
    [QMS_ERR_TIMEOUT] = {"timeout", "Hết thời gian chờ phản hồi", "No answer in time"},
    [QMS_ERR_UNAVAILABLE] = {"unavailable", "Mất kết nối tới máy chủ",
                             "The server cannot be reached"},
    [QMS_ERR_PRINTER] = {"printer", "Máy in gặp sự cố", "Printer fault"},
    [QMS_ERR_BAD_STAFF] = {"bad_staff", "Mã nhân viên hoặc mã đăng nhập không đúng",
                           "Wrong staff id or sign-in code"},
    [QMS_ERR_BAD_CCCD] = {"bad_cccd", "Số CCCD phải gồm đúng 12 chữ số",
                          "The CCCD number must be exactly 12 digits"},
    [QMS_ERR_BAD_DAY] = {"bad_day", "Không thể đặt lịch cho ngày này",
                         "Bookings are not possible for this day"},
    [QMS_ERR_BAD_SLOT] = {"bad_slot", "Không có khung giờ này", "No such time slot"},
    [QMS_ERR_SLOT_FULL] = {"slot_full", "Khung giờ này đã hết chỗ", "This time slot is full"},
    [QMS_ERR_BOOKING_LIMIT] = {"booking_limit", "Bạn đã đặt đủ số lịch cho phép trong ngày này",
                               "You have as many bookings as allowed on this day"},
    [QMS_ERR_BOOKING_SAME_SERVICE] = {"booking_same_service",
                                      "Bạn đã đặt lịch cho dịch vụ này trong ngày này",
                                      "You already have a booking for this service on this day"},
    [QMS_ERR_UNKNOWN_BOOKING] = {"unknown_booking", "Không tìm thấy lịch hẹn này",
                                 "No such booking"},
    [QMS_ERR_APPT_UNKNOWN] = {"appt_unknown", "Mã đặt lịch không đúng hoặc không tồn tại",
                              "This booking code is wrong or does not exist"},
    [QMS_ERR_APPT_WRONG_DAY] = {"appt_wrong_day", "Lịch hẹn này không phải cho hôm nay",
                                "This booking is not for today"},
    [QMS_ERR_APPT_WRONG_SERVICE] = {"appt_wrong_service", "Lịch hẹn này dành cho dịch vụ khác",
                                    "This booking is for another service"},
    [QMS_ERR_APPT_USED] = {"appt_used", "Lịch hẹn này đã được dùng để lấy số",
                           "This booking has already been used"},
    [QMS_ERR_APPT_CANCELLED] = {"appt_cancelled", "Lịch hẹn này đã bị hủy",
                                "This booking was cancelled"},
    [QMS_ERR_APPT_EARLY] = {"appt_early", "Chưa đến giờ nhận số cho lịch hẹn này",
                            "Too early for this booking"},
    [QMS_ERR_APPT_LATE] = {"appt_late", "Đã quá giờ nhận số cho lịch hẹn này",
                           "Too late for this booking"},
    [QMS_ERR_RATE_LIMITED] = {"rate_limited", "Quá nhiều yêu cầu, vui lòng thử lại sau ít phút",
                              "Too many requests; please try again in a minute"},
};

const char *qms_err_code(int err)
{
    if (err < 0 || err >= QMS_ERR__COUNT)
        return "unknown_error";
    return errs[err].code;
}

const char *qms_err_message(int err, const char *lang)
{
    if (err < 0 || err >= QMS_ERR__COUNT)
        return (lang && strcmp(lang, "en") == 0) ? "Unknown error" : "Lỗi không xác định";
    return (lang && strcmp(lang, "en") == 0) ? errs[err].en : errs[err].vi;
}

int qms_err_from_code(const char *code)
{
    if (!code)
        return QMS_ERR_PROTOCOL;
    for (int i = 0; i < QMS_ERR__COUNT; i++)
        if (strcmp(errs[i].code, code) == 0)
            return i;
    return QMS_ERR_PROTOCOL;
}

void qms_say(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int qms_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
